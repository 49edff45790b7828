import { AmbitError } from '../../shared/errors.js';

/** Stable codes of the errors the xDS server raises. */
export type XdsErrorCode =
  | 'XDS_MISSING_NODE'
  | 'XDS_INVALID_NODE_ID'
  | 'XDS_SERVER_CLOSED'
  | 'XDS_LISTEN_FAILED'
  | 'XDS_INVALID_OPTION'
  /** A stream on the TLS port carries no credential istiod accepts (gRPC UNAUTHENTICATED). */
  | 'XDS_UNAUTHENTICATED'
  /** The caller is authenticated but may not be the node it names or receive the type it asks for (PERMISSION_DENIED). */
  | 'XDS_PERMISSION_DENIED'
  /** Deciding who the caller is needs a dependency that is down (e.g. TokenReview): retry (UNAVAILABLE). */
  | 'XDS_AUTH_UNAVAILABLE';

export class XdsError extends AmbitError {
  declare readonly code: XdsErrorCode;

  constructor(code: XdsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
