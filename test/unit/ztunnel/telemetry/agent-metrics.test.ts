import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  AgentMetrics,
  LiveConnections,
  registerBuildInfo,
  TrafficMetrics,
} from '../../../../src/ztunnel/telemetry/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';

async function values(
  registry: Registry,
  name: string,
): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const m = registry.getSingleMetric(name);
  assert.ok(m, `${name} is registered`);
  return (await m.get()).values.map((v) => ({
    labels: { ...v.labels } as Record<string, string | number>,
    value: v.value,
  }));
}

describe('agent health metrics', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });
  afterEach(() => registry.clear());

  it('exports istio_build with component ztunnel and the tag', async () => {
    registerBuildInfo(registry, '1.24.0-ambit');
    assert.deepEqual(await values(registry, 'istio_build'), [
      { labels: { component: 'ztunnel', tag: '1.24.0-ambit' }, value: 1 },
    ]);
  });

  it('reports no resources, no certificates and not connected before the subsystems provide data', async () => {
    new AgentMetrics({ registry });
    assert.deepEqual(await values(registry, 'ambit_xds_resources'), []);
    assert.deepEqual(await values(registry, 'istio_agent_cert_expiry_seconds'), []);
    assert.deepEqual(await values(registry, 'ambit_xds_connected'), [{ labels: {}, value: 0 }]);
  });

  it('reads xDS connection state and resource counts at scrape time', async () => {
    const m = new AgentMetrics({ registry });
    let connected = false;
    let counts: Record<string, number> = { 'type.googleapis.com/istio.workload.Address': 3 };
    m.setXdsProvider({ connected: () => connected, resourceCounts: () => counts });
    assert.deepEqual(
      (await values(registry, 'ambit_xds_connected')).map((v) => v.value),
      [0],
    );
    connected = true;
    counts = { 'type.googleapis.com/istio.security.Authorization': 2 };
    assert.deepEqual(
      (await values(registry, 'ambit_xds_connected')).map((v) => v.value),
      [1],
    );
    assert.deepEqual(await values(registry, 'ambit_xds_resources'), [
      { labels: { type_url: 'type.googleapis.com/istio.security.Authorization' }, value: 2 },
    ]);
  });

  it('reports seconds to certificate expiry per identity, negative once expired', async () => {
    const now = Date.UTC(2026, 0, 1);
    const m = new AgentMetrics({ registry, nowMs: () => now });
    m.setCertificateProvider(() => [
      { identity: 'spiffe://cluster.local/ns/a/sa/x', notAfterMs: now + 3_600_000 },
      { identity: 'spiffe://cluster.local/ns/b/sa/y', notAfterMs: now - 10_000 },
    ]);
    assert.deepEqual(await values(registry, 'istio_agent_cert_expiry_seconds'), [
      { labels: { resource_name: 'spiffe://cluster.local/ns/a/sa/x' }, value: 3600 },
      { labels: { resource_name: 'spiffe://cluster.local/ns/b/sa/y' }, value: -10 },
    ]);
  });

  it('counts active connections per direction from the live list', async () => {
    const connections = new LiveConnections();
    new AgentMetrics({ registry, connections });
    const traffic = new TrafficMetrics({ registry, logger: silentLogger, connections });
    const r = traffic.open(
      { reporter: 'destination', connectionSecurityPolicy: 'unknown' },
      { src: '1.1.1.1:1', dst: '2.2.2.2:2', protocol: 'TCP' },
    );
    assert.deepEqual(await values(registry, 'ambit_active_connections'), [
      { labels: { direction: 'inbound' }, value: 1 },
      { labels: { direction: 'outbound' }, value: 0 },
    ]);
    r.close();
    assert.deepEqual(
      (await values(registry, 'ambit_active_connections')).map((v) => v.value),
      [0, 0],
    );
  });
});
