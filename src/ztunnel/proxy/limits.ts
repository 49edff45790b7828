/**
 * The per-pod proxy's limits: the HBONE listener's (handshake timeout,
 * connections, streams, header list size, handler deadline) and the queue
 * of HBONE connections accepted before the pod's certificate is ready.
 */
import { DEFAULT_HBONE_SERVER_LIMITS, type HboneServerLimits } from '../hbone/index.js';

/** Connections held on 15008 while the pod's certificate is fetched; more are reset. */
export const DEFAULT_MAX_PENDING_HBONE_ACCEPTS = 128;

export interface ProxyLimits extends HboneServerLimits {
  readonly maxPendingAccepts: number;
}

export const DEFAULT_PROXY_LIMITS: ProxyLimits = Object.freeze({
  ...DEFAULT_HBONE_SERVER_LIMITS,
  maxPendingAccepts: DEFAULT_MAX_PENDING_HBONE_ACCEPTS,
});

/** The defaults with the given overrides. */
export function proxyLimits(overrides: Partial<ProxyLimits> | undefined): ProxyLimits {
  return Object.freeze({ ...DEFAULT_PROXY_LIMITS, ...overrides });
}
