/**
 * A running XdsServer on 127.0.0.1:0 over an in-memory source, with the
 * clients it hands out tracked so `stop()` closes everything.
 */
import { Registry, type Histogram, type Counter, type Gauge } from 'prom-client';
import {
  XdsServer,
  listenXds,
  type XdsListeners,
  type XdsResourceSource,
  type XdsServerOptions,
} from '../../../../src/istiod/xds/index.js';
import { InMemoryResourceSource } from '../../../support/resource-source.js';
import { DeltaXdsClient, SotwXdsClient, type TestClientOptions } from '../../../support/xds-client.js';

export interface Harness<S extends XdsResourceSource = InMemoryResourceSource> {
  readonly source: S;
  readonly server: XdsServer;
  readonly registry: Registry;
  readonly address: string;
  readonly listeners: XdsListeners;
  delta(options?: TestClientOptions): DeltaXdsClient;
  sotw(options?: TestClientOptions): SotwXdsClient;
  stop(): Promise<void>;
}

export async function startHarness(options?: Partial<XdsServerOptions>): Promise<Harness>;
export async function startHarness<S extends XdsResourceSource>(
  options: Partial<XdsServerOptions>,
  source: S,
): Promise<Harness<S>>;
export async function startHarness(
  options: Partial<XdsServerOptions> = {},
  source: XdsResourceSource = new InMemoryResourceSource(),
): Promise<Harness<XdsResourceSource>> {
  const registry = new Registry();
  const server = new XdsServer({ debounceMs: 5, ...options, source, registry });
  const listeners = await listenXds(server, { plaintextAddress: '127.0.0.1:0' });
  const address = `127.0.0.1:${listeners.plaintextPort}`;
  const clients: { close(): void }[] = [];
  return {
    source,
    server,
    registry,
    address,
    listeners,
    delta(o = {}) {
      const c = new DeltaXdsClient(address, o);
      clients.push(c);
      return c;
    },
    sotw(o = {}) {
      const c = new SotwXdsClient(address, o);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.close(500);
      await listeners.close(500);
    },
  };
}

/** The value of a counter or gauge child with these labels (0 when absent). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name) as Counter | Gauge | undefined;
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const data = await metric.get();
  const match = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

/** The sample count of a histogram (all label sets). */
export async function histogramCount(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name) as Histogram | undefined;
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const data = await metric.get();
  return data.values.filter((v) => v.metricName === `${name}_count`).reduce((s, v) => s + v.value, 0);
}

/** Polls until `check` returns true (bounded). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}
