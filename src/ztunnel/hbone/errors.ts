import { AmbitError } from '../../shared/errors.js';

export type HboneErrorCode =
  | 'HBONE_BAD_AUTHORITY'
  | 'HBONE_TCP_FAILURE'
  | 'HBONE_TLS_FAILURE'
  | 'HBONE_H2_HANDSHAKE_FAILURE'
  | 'HBONE_IDENTITY_ERROR'
  | 'HBONE_CONNECT_TIMEOUT'
  | 'HBONE_HTTP_STATUS'
  | 'HBONE_STREAM_FAILED'
  | 'HBONE_POOL_CLOSED'
  | 'HBONE_SESSION_DEAD';

/** An HBONE failure; `status` is the peer's answer when it refused the CONNECT. */
export class HboneError extends AmbitError {
  declare readonly code: HboneErrorCode;
  readonly status: number | undefined;

  constructor(code: HboneErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options);
    this.status = options?.status;
  }
}
