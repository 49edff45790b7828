import { AmbitError } from '../errors.js';

export type PkiErrorCode = 'PKI_KEY_UNSUPPORTED' | 'PKI_BAD_SAN';

/** A key or a SAN that cannot be encoded into a certificate or a CSR. */
export class PkiError extends AmbitError {
  declare readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
