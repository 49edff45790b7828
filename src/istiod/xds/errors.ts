import { AmbitError } from '../../shared/errors.js';

/** Stable codes of the errors the xDS server raises. */
export type XdsErrorCode =
  | 'XDS_MISSING_NODE'
  | 'XDS_INVALID_NODE_ID'
  | 'XDS_SERVER_CLOSED'
  | 'XDS_LISTEN_FAILED'
  | 'XDS_INVALID_OPTION';

export class XdsError extends AmbitError {
  declare readonly code: XdsErrorCode;

  constructor(code: XdsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
