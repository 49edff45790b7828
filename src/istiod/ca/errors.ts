import { AmbitError } from '../../shared/errors.js';

/**
 * Stable codes of the CA's errors. The gRPC boundary (server.ts) maps them to
 * status codes; tests match on them.
 */
export type CaErrorCode =
  /** A CA file is missing, unreadable, or not what it must be (names the file). */
  | 'CA_MATERIAL_INVALID'
  /** The node tokens file cannot be read or has the wrong shape. */
  | 'CA_TOKENS_INVALID'
  /** The CSR is not a parseable PEM PKCS#10 request. */
  | 'CA_CSR_MALFORMED'
  /** The CSR's self-signature does not verify with its own public key. */
  | 'CA_CSR_SIGNATURE_INVALID'
  /** The CSR's key type or size is not accepted. */
  | 'CA_CSR_KEY_UNSUPPORTED'
  /** The CSR's SANs do not name the identity asked for (or none / several). */
  | 'CA_CSR_IDENTITY_MISMATCH'
  /** The request's metadata is malformed (e.g. a non-string ImpersonatedIdentity). */
  | 'CA_REQUEST_INVALID'
  /** The caller presented no credential, or one the CA does not know. */
  | 'CA_UNAUTHENTICATED'
  /** The caller is known but may not obtain the identity asked for. */
  | 'CA_PERMISSION_DENIED'
  /** The identity is outside the CA's trust domain. */
  | 'CA_TRUST_DOMAIN_MISMATCH'
  /** Building or signing the certificate failed. */
  | 'CA_SIGN_FAILED'
  /** A dependency of the decision (e.g. the Kubernetes API server) is unreachable: retry later. */
  | 'CA_UNAVAILABLE';

export class CaError extends AmbitError {
  declare readonly code: CaErrorCode;

  constructor(code: CaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
