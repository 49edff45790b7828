/**
 * The in-pod workload manager's metrics, with ztunnel's names (no `istio_`
 * prefix, as `istio/ztunnel:src/inpod/metrics.rs` has them).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export class WorkloadManagerMetrics {
  readonly active: Gauge;
  readonly pending: Gauge;
  readonly started: Counter;
  readonly stopped: Counter;

  /** `activeCount` is read on every scrape. */
  constructor(registry: Registry, activeCount: () => number) {
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
  }
}
