/**
 * istio.v1.auth.IstioCertificateService/CreateCertificate: authenticate the
 * caller, decode and check the CSR, decide the identity, authorize it for the
 * caller's node, sign, and answer [leaf, intermediates..., root bundle].
 */
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import type { Registry } from 'prom-client';
import {
  IstioCertificateResponseSchema,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../gen/istio/v1/auth/ca_pb.js';
import { caServiceDefinition } from '../../shared/grpc/services.js';
import type { Logger } from '../../shared/logging.js';
import { parseSpiffeId, SpiffeError } from '../../shared/spiffe.js';
import { parseCsrAsync, type ParsedCsr } from './csr.js';
import { CaError, type CaErrorCode } from './errors.js';
import { CaMetrics } from './metrics.js';
import {
  authorizeIdentity,
  type Caller,
  type CallerAuthenticator,
  type NodeIdentityLookup,
} from './node-auth.js';
import type { CertificateSigner, IssuedCertificate } from './signer.js';

/** Metadata key of the identity a node agent asks for on behalf of a workload. */
export const IMPERSONATED_IDENTITY_KEY = 'ImpersonatedIdentity';
/** Metadata key naming a non-default signer, which this CA does not have. */
export const CERT_SIGNER_KEY = 'CertSigner';

/** A CreateCertificate request decoded at the edge. */
export interface CertificateRequest {
  readonly csrPem: string;
  /** Requested lifetime; zero or negative asks for the default. */
  readonly validitySeconds: number;
  readonly impersonatedIdentity?: string;
}

const STATUS_BY_CODE: Readonly<Record<CaErrorCode, grpc.status>> = {
  CA_UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  CA_PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  CA_TRUST_DOMAIN_MISMATCH: grpc.status.PERMISSION_DENIED,
  CA_CSR_MALFORMED: grpc.status.INVALID_ARGUMENT,
  CA_CSR_SIGNATURE_INVALID: grpc.status.INVALID_ARGUMENT,
  CA_CSR_KEY_UNSUPPORTED: grpc.status.INVALID_ARGUMENT,
  CA_CSR_IDENTITY_MISMATCH: grpc.status.INVALID_ARGUMENT,
  CA_REQUEST_INVALID: grpc.status.INVALID_ARGUMENT,
  CA_SIGN_FAILED: grpc.status.INTERNAL,
  CA_MATERIAL_INVALID: grpc.status.INTERNAL,
  CA_TOKENS_INVALID: grpc.status.INTERNAL,
  CA_UNAVAILABLE: grpc.status.UNAVAILABLE,
};

/** The gRPC status a CA error is answered with. */
export function grpcStatusOf(err: CaError): grpc.status {
  return STATUS_BY_CODE[err.code] ?? grpc.status.INTERNAL;
}

/** Decodes the protobuf request: the metadata Struct's keys become typed fields. */
export function decodeCertificateRequest(message: IstioCertificateRequest): CertificateRequest {
  const metadata = message.metadata ?? {};
  const signer = metadata[CERT_SIGNER_KEY];
  if (signer !== undefined && signer !== null && signer !== '') {
    throw new CaError(
      'CA_REQUEST_INVALID',
      `metadata.${CERT_SIGNER_KEY}: named signers are not supported by this CA`,
    );
  }
  const impersonated = metadata[IMPERSONATED_IDENTITY_KEY];
  if (impersonated !== undefined && impersonated !== null && typeof impersonated !== 'string') {
    throw new CaError(
      'CA_REQUEST_INVALID',
      `metadata.${IMPERSONATED_IDENTITY_KEY}: must be a string SPIFFE URI`,
    );
  }
  const seconds = message.validityDuration;
  const validitySeconds =
    seconds > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(seconds);
  return {
    csrPem: message.csr,
    validitySeconds,
    ...(typeof impersonated === 'string' && impersonated !== ''
      ? { impersonatedIdentity: impersonated }
      : {}),
  };
}

export interface CaServiceOptions {
  readonly signer: CertificateSigner;
  readonly authenticator: CallerAuthenticator;
  readonly nodeIdentities: NodeIdentityLookup;
  readonly registry: Registry;
  readonly logger: Logger;
}

export class CaService {
  readonly metrics: CaMetrics;
  private readonly log: Logger;
  private readonly trustDomain: string;

  constructor(private readonly options: CaServiceOptions) {
    this.metrics = new CaMetrics(options.registry, options.signer.material);
    this.log = options.logger.child({ component: 'ca' });
    this.trustDomain = options.signer.material.trustDomain;
  }

  /** Registers IstioCertificateService on a gRPC server (plaintext or TLS, the caller's choice). */
  addToServer(server: grpc.Server): void {
    const handler: grpc.handleUnaryCall<IstioCertificateRequest, IstioCertificateResponse> = (
      call,
      callback,
    ) => {
      this.createCertificateFromMessage(call.request, call.metadata).then(
        (issued) =>
          callback(null, create(IstioCertificateResponseSchema, { certChain: [...issued.certChain] })),
        (err: unknown) => this.reply(callback, err, call.getPeer()),
      );
    };
    server.addService(caServiceDefinition, { createCertificate: handler });
  }

  private reply(callback: grpc.sendUnaryData<IstioCertificateResponse>, err: unknown, peer: string): void {
    if (err instanceof CaError) {
      this.log.info({ peer, code: err.code, reason: err.message }, 'certificate request refused');
      callback({ code: grpcStatusOf(err), details: err.message });
      return;
    }
    this.log.error({ peer, err }, 'certificate request failed');
    callback({ code: grpc.status.INTERNAL, details: 'internal error while issuing the certificate' });
  }

  /**
   * The whole decision and issuance for one decoded request. Throws a
   * CaError whose code says why a request is refused (see grpcStatusOf).
   */
  async createCertificate(request: CertificateRequest, metadata: grpc.Metadata): Promise<IssuedCertificate> {
    this.metrics.csrCount.inc();
    const caller = await this.authenticate(metadata);
    return this.issue(caller, request);
  }

  /** The same from the protobuf message: the caller is authenticated before the request is decoded. */
  async createCertificateFromMessage(
    message: IstioCertificateRequest,
    metadata: grpc.Metadata,
  ): Promise<IssuedCertificate> {
    this.metrics.csrCount.inc();
    const caller = await this.authenticate(metadata);
    let request: CertificateRequest;
    try {
      request = decodeCertificateRequest(message);
    } catch (err) {
      this.metrics.idExtractionErrors.inc();
      throw err;
    }
    return this.issue(caller, request);
  }

  private async authenticate(metadata: grpc.Metadata): Promise<Caller> {
    try {
      return await this.options.authenticator.authenticate(metadata);
    } catch (err) {
      this.metrics.authenticationFailures.inc();
      throw err;
    }
  }

  private async issue(caller: Caller, request: CertificateRequest): Promise<IssuedCertificate> {
    const m = this.metrics;
    let csr: ParsedCsr;
    try {
      csr = await parseCsrAsync(request.csrPem);
    } catch (err) {
      m.csrParsingErrors.inc();
      throw err;
    }

    let identity: string;
    try {
      identity = this.identityOf(request, csr);
    } catch (err) {
      m.idExtractionErrors.inc();
      throw err;
    }

    authorizeIdentity(caller, identity, this.options.nodeIdentities);

    let issued: IssuedCertificate;
    try {
      issued = await this.options.signer.issueWorkloadCertificate(
        csr.subjectPublicKeyInfoDer,
        identity,
        request.validitySeconds,
      );
    } catch (err) {
      m.signErrors.inc({ error_type: 'CertGenError' });
      throw err instanceof CaError
        ? err
        : new CaError('CA_SIGN_FAILED', `signing for ${identity} failed: ${(err as Error).message}`, {
            cause: err,
          });
    }
    m.successes.inc();
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { node: caller.node, identity, key: csr.keyDescription, notAfter: issued.notAfter.toISOString() },
        'certificate issued',
      );
    }
    return issued;
  }

  /**
   * The identity to certify: the ImpersonatedIdentity when given (the CSR's
   * URI SANs, if any, must all be it), else the CSR's single URI SAN. Only
   * that URI goes into the certificate, so a CSR asking for other SANs is refused.
   */
  private identityOf(request: CertificateRequest, csr: ParsedCsr): string {
    const wanted = request.impersonatedIdentity;
    let identity: string;
    if (wanted !== undefined) {
      const other = csr.uris.find((u) => u !== wanted);
      if (other !== undefined) {
        throw new CaError(
          'CA_CSR_IDENTITY_MISMATCH',
          `CSR URI SAN ${other} does not match the requested identity ${wanted}`,
        );
      }
      identity = wanted;
    } else {
      if (csr.uris.length !== 1) {
        throw new CaError(
          'CA_CSR_IDENTITY_MISMATCH',
          `CSR must carry exactly one URI SAN when no ${IMPERSONATED_IDENTITY_KEY} is given (found ${csr.uris.length})`,
        );
      }
      identity = csr.uris[0] as string;
    }
    if (csr.dnsNames.length + csr.ipAddresses.length + csr.otherSanCount > 0) {
      throw new CaError(
        'CA_CSR_IDENTITY_MISMATCH',
        `CSR asks for SANs other than ${identity} (${[...csr.dnsNames, ...csr.ipAddresses].join(', ') || 'other name forms'}); workload certificates carry only the SPIFFE URI`,
      );
    }
    let trustDomain: string;
    try {
      trustDomain = parseSpiffeId(identity).trustDomain;
    } catch (err) {
      if (err instanceof SpiffeError)
        throw new CaError('CA_CSR_IDENTITY_MISMATCH', `requested identity: ${err.message}`, { cause: err });
      throw err;
    }
    if (trustDomain !== this.trustDomain) {
      throw new CaError(
        'CA_TRUST_DOMAIN_MISMATCH',
        `identity ${identity} is in trust domain ${trustDomain}, this CA signs for ${this.trustDomain}`,
      );
    }
    return identity;
  }
}
