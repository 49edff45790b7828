/**
 * A typed gRPC client for istio.v1.auth.IstioCertificateService, for tests
 * that call the CA over real sockets.
 */
import * as grpc from '@grpc/grpc-js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/gen/istio/v1/auth/ca_pb.js';
import { caServiceDefinition } from '../../src/shared/grpc/services.js';

export type CaClient = grpc.Client & {
  createCertificate(
    req: IstioCertificateRequest,
    md: grpc.Metadata,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
};

export const CaClientCtor = grpc.makeGenericClientConstructor(
  caServiceDefinition,
  'IstioCertificateService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => CaClient;
