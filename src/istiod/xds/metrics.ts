/**
 * The xDS server's metrics, with istiod's names, label names and buckets
 * (`pilot/pkg/xds/monitoring.go`, `pkg/xds/monitoring.go`), so existing
 * Istio dashboards read them unchanged.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WORKLOAD_TYPE_URL } from './resource-source.js';

/** The `type` label value istiod uses for a type URL (`GetMetricType`): wds, wads, or `other`. */
export type MetricType = 'wds' | 'wads' | 'other';

/** The `reason` label of pilot_xds_auth_failures. */
export type AuthFailureReason = 'unauthenticated' | 'permission_denied' | 'unavailable';

export function metricType(typeUrl: string): MetricType {
  switch (typeUrl) {
    case ADDRESS_TYPE_URL:
    case WORKLOAD_TYPE_URL:
      return 'wds';
    case AUTHORIZATION_TYPE_URL:
      return 'wads';
    default:
      return 'other';
  }
}

/** Keeps the `version` label of `pilot_xds` to well-formed version strings. */
export function versionLabel(istioVersion: string): string {
  return /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$/.test(istioVersion) ? istioVersion : 'unknown';
}

const TIME_BUCKETS_SECONDS = [0.01, 0.1, 1, 3, 5, 10, 20, 30];
const CONVERGENCE_BUCKETS_SECONDS = [0.1, 0.5, 1, 3, 5, 10, 20, 30];
const SIZE_BUCKETS_BYTES = [1, 10000, 1000000, 4000000, 10000000, 40000000];

export class XdsMetrics {
  /** `pilot_xds{version}`: connected xDS clients. */
  readonly clients: Gauge<'version'>;
  /** `pilot_xds_pushes{type}`: responses sent. */
  readonly pushes: Counter<'type'>;
  /** `pilot_total_xds_rejects{type}`: NACKs received. */
  readonly rejects: Counter<'type'>;
  /** `pilot_xds_expired_nonce{type}`: requests carrying a stale nonce. */
  readonly expiredNonce: Counter<'type'>;
  /**
   * `pilot_xds_auth_failures{reason}`: streams refused for their credential
   * (istiod only logs these, "Failed to authenticate client" / "Unauthorized
   * XDS"; the counter makes a probe or a misconfigured agent visible).
   */
  readonly authFailures: Counter<'reason'>;
  /** `pilot_xds_write_timeout`: connections closed because they took no data for too long. */
  readonly writeTimeouts: Counter;
  /** `pilot_xds_push_time{type}`: seconds to build and encode one response. */
  readonly pushTime: Histogram<'type'>;
  /** `pilot_xds_send_time`: seconds from handing a response to gRPC until it is written. */
  readonly sendTime: Histogram;
  /** `pilot_proxy_convergence_time`: seconds from a change reaching the server to it being sent. */
  readonly convergenceTime: Histogram;
  /** `pilot_xds_config_size_bytes{type}`: size of each encoded response. */
  readonly configSize: Histogram<'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.clients = new Gauge({
      name: 'pilot_xds',
      help: 'Number of endpoints connected to this pilot using XDS.',
      labelNames: ['version'],
      registers,
    });
    this.pushes = new Counter({
      name: 'pilot_xds_pushes',
      help: 'Pilot build and send errors for lds, rds, cds and eds.',
      labelNames: ['type'],
      registers,
    });
    this.rejects = new Counter({
      name: 'pilot_total_xds_rejects',
      help: 'Total number of XDS responses from pilot rejected by proxy.',
      labelNames: ['type'],
      registers,
    });
    this.expiredNonce = new Counter({
      name: 'pilot_xds_expired_nonce',
      help: 'Total number of XDS requests with an expired nonce.',
      labelNames: ['type'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'pilot_xds_auth_failures',
      help: 'XDS streams refused because the client could not be authenticated or authorized.',
      labelNames: ['reason'],
      registers,
    });
    this.writeTimeouts = new Counter({
      name: 'pilot_xds_write_timeout',
      help: 'Pilot XDS response write timeouts.',
      registers,
    });
    this.pushTime = new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
      labelNames: ['type'],
      buckets: TIME_BUCKETS_SECONDS,
      registers,
    });
    this.sendTime = new Histogram({
      name: 'pilot_xds_send_time',
      help: 'Total time in seconds Pilot takes to send generated configuration.',
      buckets: TIME_BUCKETS_SECONDS,
      registers,
    });
    this.convergenceTime = new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between config change and a proxy receiving all required configuration.',
      buckets: CONVERGENCE_BUCKETS_SECONDS,
      registers,
    });
    this.configSize = new Histogram({
      name: 'pilot_xds_config_size_bytes',
      help: 'Distribution of configuration sizes pushed to clients',
      labelNames: ['type'],
      buckets: SIZE_BUCKETS_BYTES,
      registers,
    });
  }
}
