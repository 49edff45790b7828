/**
 * Connections refused before they have full metadata (ztunnel's
 * `log_early_deny`): no connection result exists yet, so they are counted
 * by reason in their own metric, logged once, and the socket is reset.
 */
import type net from 'node:net';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { EarlyDenyReason, ProxyGuards } from '../telemetry/index.js';
import { resetSocket } from './copy.js';

export interface EarlyDenySink {
  readonly guards: ProxyGuards;
  readonly logger: Logger;
}

/** Counts, logs and resets. `internal_error` is logged at error (a bug), the rest at info. */
export function denyEarly(sink: EarlyDenySink, socket: net.Socket, reason: EarlyDenyReason, fields: Record<string, unknown>): void {
  sink.guards.earlyDeny(reason);
  if (reason === 'internal_error') sink.logger.error({ reason, ...fields }, 'connection denied early');
  else sink.logger.info({ reason, ...fields }, 'connection denied early');
  resetSocket(socket);
}

/**
 * Wraps a listener's 'connection' handler so that nothing it throws reaches
 * the event loop: a throw becomes an `internal_error` early deny.
 */
export function guardConnection(sink: EarlyDenySink, what: string, handle: (socket: net.Socket) => void): (socket: net.Socket) => void {
  return (socket) => {
    try {
      handle(socket);
    } catch (err) {
      denyEarly(sink, socket, 'internal_error', { listener: what, err: errorMessage(err) });
    }
  };
}
