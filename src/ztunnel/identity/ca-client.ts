/**
 * istiod's IstioCertificateService as the node agent calls it: over TLS
 * verified against the mesh root, with the node's bearer token, asking for
 * the identity of a workload it serves (`metadata.ImpersonatedIdentity`).
 */
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { caServiceDefinition } from '../../shared/grpc/services.js';
import {
  IstioCertificateRequestSchema,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../gen/istio/v1/auth/ca_pb.js';
import { IdentityError } from './errors.js';

/** The metadata key Istio's CA reads the impersonated identity from. */
export const IMPERSONATED_IDENTITY_KEY = 'ImpersonatedIdentity';
/** ztunnel's CA call timeout. */
export const DEFAULT_CA_TIMEOUT_MS = 10_000;

export interface CertificateRequest {
  readonly csrPem: string;
  /** The SPIFFE URI asked for. */
  readonly identity: string;
  /** Requested validity; the CA may shorten it. */
  readonly ttlSeconds: number;
}

/** What the manager needs from a CA: the chain `[leaf, intermediates..., root bundle]`. */
export interface CaClient {
  createCertificate(request: CertificateRequest): Promise<readonly string[]>;
  close(): void;
}

export interface GrpcCaClientOptions {
  /** istiod's `host:port` (15012). */
  readonly address: string;
  readonly rootPem: string;
  /** The name istiod's certificate is checked against when the address is not it. */
  readonly serverName?: string;
  /** Sent as `authorization: Bearer <token>`; a function is read at each call. */
  readonly token?: string | (() => string);
  readonly timeoutMs?: number;
}

type UnaryCall = (
  request: IstioCertificateRequest,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: IstioCertificateResponse) => void,
) => grpc.ClientUnaryCall;

const CaGrpcClient = grpc.makeGenericClientConstructor(caServiceDefinition, 'IstioCertificateService');

export class GrpcCaClient implements CaClient {
  private readonly client: grpc.Client;
  private readonly options: GrpcCaClientOptions;

  constructor(options: GrpcCaClientOptions) {
    this.options = options;
    const channelOptions: grpc.ChannelOptions = {};
    if (options.serverName !== undefined) channelOptions['grpc.ssl_target_name_override'] = options.serverName;
    this.client = new CaGrpcClient(
      options.address,
      grpc.credentials.createSsl(Buffer.from(options.rootPem)),
      channelOptions,
    );
  }

  createCertificate(request: CertificateRequest): Promise<readonly string[]> {
    const md = new grpc.Metadata();
    const token = typeof this.options.token === 'function' ? this.options.token() : this.options.token;
    if (token !== undefined && token !== '') md.set('authorization', `Bearer ${token}`);
    const message = create(IstioCertificateRequestSchema, {
      csr: request.csrPem,
      validityDuration: BigInt(request.ttlSeconds),
      metadata: { [IMPERSONATED_IDENTITY_KEY]: request.identity },
    });
    const deadline = Date.now() + (this.options.timeoutMs ?? DEFAULT_CA_TIMEOUT_MS);
    const call = (this.client as unknown as { createCertificate?: UnaryCall }).createCertificate;
    return new Promise((resolve, reject) => {
      if (call === undefined) {
        reject(new IdentityError('IDENTITY_CA_FAILED', 'CA client has no CreateCertificate method'));
        return;
      }
      call.call(this.client, message, md, { deadline }, (err: grpc.ServiceError | null, resp?: IstioCertificateResponse) => {
        if (err !== null) {
          reject(
            new IdentityError(
              'IDENTITY_CA_FAILED',
              `CA ${this.options.address}: CreateCertificate for ${request.identity} failed: ${grpc.status[err.code] ?? err.code}: ${err.details}`,
              { cause: err, grpcCode: err.code },
            ),
          );
          return;
        }
        resolve(resp?.certChain ?? []);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
