/**
 * What the proxy's guards count: connections refused before they had full
 * metadata (ztunnel's `log_early_deny`: no connection result exists yet, so
 * no Istio TCP metric can carry them) and listener limits being hit. Label
 * values are the small fixed sets below, never error text.
 */
import { Counter, type Registry } from 'prom-client';

export const EARLY_DENY_METRIC = 'ambit_early_denied_connections_total';
export const LIMIT_HIT_METRIC = 'ambit_proxy_limit_hits_total';

/** Why a connection was refused before it had a connection result. */
export type EarlyDenyReason =
  /** The client reset before the proxy read its address. */
  | 'no_peer_address'
  /** Outbound: capture recorded no original destination. */
  | 'no_original_destination'
  /** Aimed at the proxy's own ports. */
  | 'proxy_loop'
  /** Inbound: a destination that is not this pod. */
  | 'unexpected_destination'
  /** A listener limit refused it (see the limit metric for which). */
  | 'limit'
  /** The TLS handshake on 15008 failed or timed out. */
  | 'tls_handshake'
  /** The peer certificate carries no usable SPIFFE identity. */
  | 'peer_identity'
  /** Outbound: the first Address push did not arrive in time, so there was nothing to route by. */
  | 'workload_state_not_synced'
  /** The proxy failed while setting it up (a bug; logged at error). */
  | 'internal_error';

export const EARLY_DENY_REASONS: readonly EarlyDenyReason[] = [
  'no_peer_address',
  'no_original_destination',
  'proxy_loop',
  'unexpected_destination',
  'limit',
  'tls_handshake',
  'peer_identity',
  'workload_state_not_synced',
  'internal_error',
];

/** Which listener limit refused or cut a connection. */
export type LimitName =
  | 'tls_handshake_timeout'
  | 'hbone_connections'
  | 'hbone_streams'
  | 'hbone_pending_accepts'
  | 'hbone_header_size';

export const LIMIT_NAMES: readonly LimitName[] = [
  'tls_handshake_timeout',
  'hbone_connections',
  'hbone_streams',
  'hbone_pending_accepts',
  'hbone_header_size',
];

/** The sink the proxy and the HBONE server report to. */
export interface ProxyGuards {
  earlyDeny(reason: EarlyDenyReason): void;
  limitHit(limit: LimitName): void;
}

/** Counts nothing: for components built without a registry. */
export const NO_GUARDS: ProxyGuards = Object.freeze({
  earlyDeny: () => undefined,
  limitHit: () => undefined,
});

/** The guard counters in a Prometheus registry; every label value is exported from the start at 0. */
export class GuardMetrics implements ProxyGuards {
  private readonly denies: Counter<'reason'>;
  private readonly limits: Counter<'limit'>;

  constructor(registry: Registry) {
    this.denies = new Counter({
      name: EARLY_DENY_METRIC,
      help: 'Connections refused before they had full metadata, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    this.limits = new Counter({
      name: LIMIT_HIT_METRIC,
      help: 'Times a proxy listener limit refused or closed a connection or stream, by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    });
    for (const reason of EARLY_DENY_REASONS) this.denies.inc({ reason }, 0);
    for (const limit of LIMIT_NAMES) this.limits.inc({ limit }, 0);
  }

  earlyDeny(reason: EarlyDenyReason): void {
    this.denies.inc({ reason });
  }

  limitHit(limit: LimitName): void {
    this.limits.inc({ limit });
  }
}
