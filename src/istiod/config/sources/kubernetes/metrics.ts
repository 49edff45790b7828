/**
 * The Kubernetes source's metrics. Event counters carry Istio's names
 * (`pilot_k8s_cfg_events` for Istio config kinds, `pilot_k8s_reg_events` for
 * the service registry's Kubernetes kinds, labels `type` and `event`);
 * rejected objects and watch restarts have no Istio counterpart and carry
 * ambit's names. Label values come from fixed sets (kinds, event and reason
 * enums), never from messages.
 */
import { Counter, Registry } from 'prom-client';
import type { RestartReason } from './reflector.js';

export type KubeEvent = 'add' | 'update' | 'delete';

/** Kinds whose events Istio counts as registry (not config) events. */
const REGISTRY_KINDS = new Set(['Namespace', 'Pod', 'Service', 'EndpointSlice', 'ServiceAccount']);

export class KubeSourceMetrics {
  private readonly cfgEvents: Counter;
  private readonly regEvents: Counter;
  private readonly invalid: Counter;
  private readonly restarts: Counter;

  constructor(registry: Registry = new Registry()) {
    this.cfgEvents = new Counter({
      name: 'pilot_k8s_cfg_events',
      help: 'Events from the Kubernetes API for Istio configuration kinds.',
      labelNames: ['type', 'event'],
      registers: [registry],
    });
    this.regEvents = new Counter({
      name: 'pilot_k8s_reg_events',
      help: 'Events from the Kubernetes API for service registry kinds.',
      labelNames: ['type', 'event'],
      registers: [registry],
    });
    this.invalid = new Counter({
      name: 'ambit_kube_invalid_objects_total',
      help: 'Objects from the Kubernetes API rejected by validation (the last good version, if any, stays).',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.restarts = new Counter({
      name: 'ambit_kube_watch_restarts_total',
      help: 'Watches opened again, by reason: expired (re-list after 410 Gone), error (after backoff), closed (server timeout).',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    });
  }

  event(kind: string, event: KubeEvent): void {
    (REGISTRY_KINDS.has(kind) ? this.regEvents : this.cfgEvents).inc({ type: kind, event });
  }

  invalidObject(kind: string): void {
    this.invalid.inc({ kind });
  }

  restart(kind: string, reason: RestartReason): void {
    this.restarts.inc({ kind, reason });
  }
}
