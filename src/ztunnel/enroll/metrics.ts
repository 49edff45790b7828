/**
 * The in-pod workload manager's metrics, with ztunnel's names (no `istio_`
 * prefix, as `istio/ztunnel:src/inpod/metrics.rs` has them), and the
 * enrollment socket's own (ztunnel has no counterpart: its ZDS socket is
 * the CNI agent's), prefixed `ambit_`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export class WorkloadManagerMetrics {
  readonly active: Gauge;
  readonly pending: Gauge;
  readonly started: Counter;
  readonly stopped: Counter;
  /** Limits of the enrollment socket hit, by `limit` (idle_timeout, frame_size, max_connections). */
  readonly limitHits: Counter<'limit'>;
  readonly connections: Gauge;

  /** `activeCount` and `connectionCount` are read on every scrape. */
  constructor(registry: Registry, activeCount: () => number, connectionCount: () => number = () => 0) {
    this.active = new Gauge({
      name: 'workload_manager_active_proxy_count',
      help: 'The total number current workloads with active proxies',
      registers: [registry],
      collect() {
        this.set(activeCount());
      },
    });
    this.pending = new Gauge({
      name: 'workload_manager_pending_proxy_count',
      help: 'The total number current workloads with pending proxies',
      registers: [registry],
    });
    this.started = new Counter({
      name: 'workload_manager_proxies_started_total',
      help: 'The total number of proxies that were started',
      registers: [registry],
    });
    this.stopped = new Counter({
      name: 'workload_manager_proxies_stopped_total',
      help: 'The total number of proxies that were stopped',
      registers: [registry],
    });
    this.limitHits = new Counter({
      name: 'ambit_enrollment_limit_hits_total',
      help: 'Enrollment connections closed or refused by a limit, by limit',
      labelNames: ['limit'],
      registers: [registry],
    });
    this.connections = new Gauge({
      name: 'ambit_enrollment_connections',
      help: 'Open connections to the enrollment socket',
      registers: [registry],
      collect() {
        this.set(connectionCount());
      },
    });
  }
}
