/** ztunnel's xDS client metrics (names and labels as `istio/ztunnel:src/xds/metrics.rs`). */
import { Counter, type Registry } from 'prom-client';

/** Why a stream ended: the fixed label set ztunnel uses. */
export type TerminationReason = 'ConnectionError' | 'Error' | 'Reconnect' | 'Complete';

export class XdsClientMetrics {
  readonly terminations: Counter<'reason'>;
  readonly messages: Counter<'url'>;
  readonly messageBytes: Counter<'url'>;

  constructor(registry: Registry) {
    this.terminations = new Counter({
      name: 'istio_xds_connection_terminations_total',
      help: 'The total number of completed connections to xds server (unstable)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.messages = new Counter({
      name: 'istio_xds_message_total',
      help: 'Total number of messages received (unstable)',
      labelNames: ['url'],
      registers: [registry],
    });
    this.messageBytes = new Counter({
      name: 'istio_xds_message_bytes_total',
      help: 'Total number of bytes received (unstable)',
      labelNames: ['url'],
      registers: [registry],
    });
  }
}
