/**
 * The node agent's own health as gauges, read from providers at scrape time
 * so the subsystems that own the data never push to metrics. Istio's names
 * where Istio has the metric (`istio_build`, the agent's
 * `istio_agent_cert_expiry_seconds`); `ambit_` names where it has none.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ConnectionDirection, LiveConnections } from './connections.js';

export const BUILD_METRIC = 'istio_build';
export const XDS_CONNECTED_METRIC = 'ambit_xds_connected';
export const XDS_RESOURCES_METRIC = 'ambit_xds_resources';
export const CERT_EXPIRY_METRIC = 'istio_agent_cert_expiry_seconds';
export const ACTIVE_CONNECTIONS_METRIC = 'ambit_active_connections';

/** `istio_build{component="ztunnel",tag}` = 1. */
export function registerBuildInfo(registry: Registry, tag: string): Gauge<'component' | 'tag'> {
  const gauge = new Gauge({
    name: BUILD_METRIC,
    help: 'Istio component build info',
    labelNames: ['component', 'tag'] as const,
    registers: [registry],
  });
  gauge.set({ component: 'ztunnel', tag }, 1);
  return gauge;
}

/** What the xDS client reports about itself. */
export interface XdsHealthProvider {
  /** True while a stream to the control plane is established. */
  connected(): boolean;
  /** Resources currently held, by type URL. */
  resourceCounts(): Readonly<Record<string, number>>;
}

/** One identity's current leaf certificate. */
export interface CertificateExpiry {
  /** The SPIFFE identity, `spiffe://td/ns/N/sa/S`. */
  readonly identity: string;
  /** The certificate's notAfter, in epoch milliseconds. */
  readonly notAfterMs: number;
}

export type CertificateExpiryProvider = () => Iterable<CertificateExpiry>;

export interface AgentMetricsOptions {
  readonly registry: Registry;
  /** The live connection list; `ambit_active_connections` reads it. */
  readonly connections?: LiveConnections;
  /** Wall-clock milliseconds (tests inject a clock). */
  readonly nowMs?: () => number;
}

/**
 * Agent health gauges. Providers are set by wiring as the subsystems start;
 * until then xDS reads as not connected and the labelled gauges export nothing.
 */
export class AgentMetrics {
  private readonly providers: { xds?: XdsHealthProvider; certificates?: CertificateExpiryProvider } = {};

  constructor(options: AgentMetricsOptions) {
    const providers = this.providers;
    const registers = [options.registry];
    const nowMs = options.nowMs ?? Date.now;
    new Gauge({
      name: XDS_CONNECTED_METRIC,
      help: 'Whether the node agent holds an established xDS stream to the control plane (1) or not (0).',
      registers,
      collect() {
        this.reset();
        if (providers.xds !== undefined) this.set(providers.xds.connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: XDS_RESOURCES_METRIC,
      help: 'xDS resources the node agent currently holds, by type URL.',
      labelNames: ['type_url'] as const,
      registers,
      collect() {
        this.reset();
        if (providers.xds === undefined) return;
        for (const [typeUrl, n] of Object.entries(providers.xds.resourceCounts()))
          this.set({ type_url: typeUrl }, n);
      },
    });
    new Gauge({
      name: CERT_EXPIRY_METRIC,
      help: 'The time remaining, in seconds, before the certificate of an identity expires; negative once expired.',
      labelNames: ['resource_name'] as const,
      registers,
      collect() {
        this.reset();
        if (providers.certificates === undefined) return;
        const now = nowMs();
        for (const c of providers.certificates()) {
          this.set({ resource_name: c.identity }, Math.floor((c.notAfterMs - now) / 1000));
        }
      },
    });
    const connections = options.connections;
    if (connections !== undefined) {
      new Gauge({
        name: ACTIVE_CONNECTIONS_METRIC,
        help: 'Connections the node agent is currently proxying, by direction.',
        labelNames: ['direction'] as const,
        registers,
        collect() {
          const counts = connections.countByDirection();
          for (const d of Object.keys(counts) as ConnectionDirection[]) this.set({ direction: d }, counts[d]);
        },
      });
    }
  }

  setXdsProvider(provider: XdsHealthProvider): void {
    this.providers.xds = provider;
  }

  setCertificateProvider(provider: CertificateExpiryProvider): void {
    this.providers.certificates = provider;
  }
}
