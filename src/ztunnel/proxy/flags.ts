import { HboneError } from '../hbone/index.js';
import { ResponseFlag } from '../telemetry/index.js';

/** The `response_flags` value for a failed connection set-up. */
export function flagFor(err: unknown): ResponseFlag {
  if (err instanceof HboneError) {
    switch (err.code) {
      case 'HBONE_TLS_FAILURE':
        return ResponseFlag.TlsFailure;
      case 'HBONE_H2_HANDSHAKE_FAILURE':
        return ResponseFlag.H2HandshakeFailure;
      case 'HBONE_IDENTITY_ERROR':
        return ResponseFlag.IdentityError;
      case 'HBONE_CONNECT_TIMEOUT':
        return ResponseFlag.NetworkPolicy;
      default:
        return ResponseFlag.Connect;
    }
  }
  return ResponseFlag.Connect;
}
