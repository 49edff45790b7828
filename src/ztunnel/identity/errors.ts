import { AmbitError } from '../../shared/errors.js';

/**
 * Workload certificate failures. Codes:
 * - IDENTITY_INVALID: not an Istio SPIFFE identity (spiffe://<td>/ns/<ns>/sa/<sa>)
 * - IDENTITY_CA_FAILED: the CreateCertificate call failed (`grpcCode` says how)
 * - IDENTITY_BAD_RESPONSE: the CA answered with an empty or unreadable chain
 * - IDENTITY_MISMATCH: the issued leaf names another identity than the one requested, or not our key
 * - IDENTITY_CLOSED: the manager was closed
 */
export class IdentityError extends AmbitError {
  /** The gRPC status of a failed CA call, when there was one. */
  readonly grpcCode: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; grpcCode?: number }) {
    super(code, message, options);
    this.grpcCode = options?.grpcCode;
  }
}
