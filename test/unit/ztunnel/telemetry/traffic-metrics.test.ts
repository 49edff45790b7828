import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  LiveConnections,
  ResponseFlag,
  TRAFFIC_LABEL_NAMES,
  TrafficMetrics,
  trafficLabels,
  type ConnectionContext,
  type TrafficLabels,
  type WorkloadDescriptor,
} from '../../../../src/ztunnel/telemetry/index.js';

/** A pino logger writing into an array of parsed lines. */
function capturingLogger(level = 'info'): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { logger, lines };
}

const client: WorkloadDescriptor = {
  name: 'sleep-0',
  namespace: 'apps',
  workloadName: 'sleep',
  canonicalName: 'sleep',
  canonicalRevision: 'v1',
  clusterId: 'Kubernetes',
  identity: { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'sleep' },
};
const server: WorkloadDescriptor = {
  ...client,
  name: 'echo-0',
  namespace: 'web',
  workloadName: 'echo',
  canonicalName: 'echo',
  identity: { trustDomain: 'cluster.local', namespace: 'web', serviceAccount: 'echo' },
};

const outbound: ConnectionContext = {
  reporter: 'source',
  source: client,
  destination: server,
  destinationService: { hostname: 'echo.web.svc.cluster.local', name: 'echo', namespace: 'web' },
  peerIdentity: { trustDomain: 'cluster.local', namespace: 'web', serviceAccount: 'echo' },
  connectionSecurityPolicy: 'mutual_tls',
};
const inbound: ConnectionContext = {
  reporter: 'destination',
  source: client,
  destination: server,
  peerIdentity: { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'sleep' },
  connectionSecurityPolicy: 'mutual_tls',
};
const endpoints = {
  src: '10.0.0.1:40000',
  dst: '10.96.0.10:80',
  remoteTarget: '10.0.0.2:8080',
  protocol: 'HBONE' as const,
};

async function value(
  registry: Registry,
  metric: string,
  labels: Partial<TrafficLabels> | { reporter: string },
): Promise<number | undefined> {
  const m = registry.getSingleMetric(metric);
  assert.ok(m, `${metric} is registered`);
  const data = await m.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return hit?.value;
}

describe('TrafficMetrics and ConnectionResult', () => {
  let registry: Registry;
  let clock: number;
  let connections: LiveConnections;
  let captured: ReturnType<typeof capturingLogger>;
  let metrics: TrafficMetrics;

  beforeEach(() => {
    registry = new Registry();
    clock = 1000;
    connections = new LiveConnections();
    captured = capturingLogger();
    metrics = new TrafficMetrics({
      registry,
      logger: captured.logger,
      connections,
      monotonicMs: () => clock,
      wallClockMs: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    });
  });

  afterEach(() => registry.clear());

  it('counts a connection opened when its result is created, and not again', async () => {
    const labels = trafficLabels(outbound);
    const r = metrics.open(outbound, endpoints);
    assert.equal(await value(registry, 'istio_tcp_connections_opened_total', labels), 1);
    r.recordReceived(10);
    r.close();
    assert.equal(await value(registry, 'istio_tcp_connections_opened_total', labels), 1);
  });

  it('counts request bytes as received and response bytes as sent, as they flow', async () => {
    const labels = trafficLabels(outbound);
    const r = metrics.open(outbound, endpoints);
    r.recordReceived(100);
    r.recordReceived(23);
    r.recordSent(7);
    assert.equal(await value(registry, 'istio_tcp_received_bytes_total', labels), 123);
    assert.equal(await value(registry, 'istio_tcp_sent_bytes_total', labels), 7);
    r.close();
  });

  it('adds the bytes of connections with the same labels into one series', async () => {
    const labels = trafficLabels(inbound);
    for (let i = 1; i <= 3; i++) {
      const r = metrics.open(inbound, endpoints);
      r.recordReceived(i);
      r.close();
    }
    assert.equal(await value(registry, 'istio_tcp_received_bytes_total', labels), 6);
    assert.equal(await value(registry, 'istio_tcp_connections_opened_total', labels), 3);
    assert.equal(await value(registry, 'istio_tcp_connections_closed_total', labels), 3);
  });

  it('counts a clean close as closed with flag - and not as failed', async () => {
    const labels = trafficLabels(outbound);
    metrics.open(outbound, endpoints).close();
    assert.equal(await value(registry, 'istio_tcp_connections_closed_total', labels), 1);
    assert.equal(
      await value(registry, 'istio_tcp_connections_failed_total', { reporter: 'source' }),
      undefined,
    );
  });

  it('counts a close with a flag as closed and failed under that flag', async () => {
    const denied = trafficLabels(inbound, ResponseFlag.Deny);
    metrics.open(inbound, endpoints).close(ResponseFlag.Deny);
    assert.equal(await value(registry, 'istio_tcp_connections_closed_total', denied), 1);
    assert.equal(await value(registry, 'istio_tcp_connections_failed_total', denied), 1);
    assert.equal(
      await value(registry, 'istio_tcp_connections_closed_total', trafficLabels(inbound)),
      undefined,
    );
  });

  it('counts closed exactly once when close is called twice', async () => {
    const r = metrics.open(outbound, endpoints);
    r.close();
    r.close(ResponseFlag.Connect);
    assert.equal(await value(registry, 'istio_tcp_connections_closed_total', trafficLabels(outbound)), 1);
    assert.equal(
      await value(
        registry,
        'istio_tcp_connections_closed_total',
        trafficLabels(outbound, ResponseFlag.Connect),
      ),
      undefined,
    );
    assert.equal(captured.lines.filter((l) => l.msg === 'connection complete').length, 1);
  });

  it('keeps the first result when an abrupt error closes before the normal end path', async () => {
    const r = metrics.open(inbound, endpoints);
    r.recordReceived(5);
    // The socket errors (the proxy closes with a flag), then its 'close' event runs the normal path.
    r.close(ResponseFlag.Connect, new Error('ECONNRESET'));
    r.close();
    assert.equal(r.closed, true);
    const flagged = trafficLabels(inbound, ResponseFlag.Connect);
    assert.equal(await value(registry, 'istio_tcp_connections_closed_total', flagged), 1);
    assert.equal(await value(registry, 'istio_tcp_connections_failed_total', flagged), 1);
    assert.equal(
      await value(registry, 'istio_tcp_connections_closed_total', trafficLabels(inbound)),
      undefined,
    );
    const access = captured.lines.filter((l) => l.msg === 'connection complete');
    assert.equal(access.length, 1);
    assert.equal(access[0]?.flag, 'CONNECT');
    assert.equal(access[0]?.error, 'ECONNRESET');
  });

  it('writes one access-log line at info with the connection facts', () => {
    const r = metrics.open(outbound, endpoints);
    r.recordReceived(300);
    r.recordSent(1200);
    clock += 42.4;
    r.close();
    const access = captured.lines.filter((l) => l.msg === 'connection complete');
    assert.equal(access.length, 1);
    const line = access[0]!;
    assert.equal(line.level, 30);
    assert.equal(line.component, 'access');
    assert.deepEqual(
      {
        src: line.src,
        dst: line.dst,
        srcWorkload: line.srcWorkload,
        dstWorkload: line.dstWorkload,
        peer: line.peer,
        bytesSent: line.bytesSent,
        bytesReceived: line.bytesReceived,
        durationMs: line.durationMs,
        flag: line.flag,
        direction: line.direction,
      },
      {
        src: '10.0.0.1:40000',
        dst: '10.96.0.10:80',
        srcWorkload: 'sleep-0',
        dstWorkload: 'echo-0',
        peer: 'spiffe://cluster.local/ns/web/sa/echo',
        // Outbound the local pod is the client: it sent the request bytes.
        bytesSent: 300,
        bytesReceived: 1200,
        durationMs: 42,
        flag: '-',
        direction: 'outbound',
      },
    );
  });

  it('reports bytes from the server side in an inbound access-log line', () => {
    const r = metrics.open(inbound, endpoints);
    r.recordReceived(300);
    r.recordSent(1200);
    r.close();
    const line = captured.lines.find((l) => l.msg === 'connection complete')!;
    assert.equal(line.direction, 'inbound');
    assert.equal(line.bytesSent, 1200);
    assert.equal(line.bytesReceived, 300);
    assert.equal(line.peer, 'spiffe://cluster.local/ns/apps/sa/sleep');
  });

  it('writes no access-log line when info is disabled, but still counts', async () => {
    const quiet = capturingLogger('warn');
    const reg = new Registry();
    const m = new TrafficMetrics({ registry: reg, logger: quiet.logger });
    m.open(outbound, endpoints).close();
    assert.equal(quiet.lines.length, 0);
    assert.equal(await value(reg, 'istio_tcp_connections_closed_total', trafficLabels(outbound)), 1);
  });

  it('tracks open sockets per reporter', async () => {
    const a = metrics.open(outbound, endpoints);
    const b = metrics.open(inbound, endpoints);
    const c = metrics.open(inbound, endpoints);
    assert.equal(await value(registry, 'istio_tcp_sockets_open', { reporter: 'source' }), 1);
    assert.equal(await value(registry, 'istio_tcp_sockets_open', { reporter: 'destination' }), 2);
    a.close();
    b.close();
    c.close();
    c.close();
    assert.equal(await value(registry, 'istio_tcp_sockets_open', { reporter: 'source' }), 0);
    assert.equal(await value(registry, 'istio_tcp_sockets_open', { reporter: 'destination' }), 0);
  });

  it('lists a connection while it is live and drops it on close', () => {
    const r = metrics.open(outbound, endpoints);
    r.recordReceived(3);
    r.recordSent(4);
    assert.deepEqual(connections.dump(), [
      {
        workload: 'apps/sleep-0',
        direction: 'outbound',
        local: '10.0.0.1:40000',
        remote: '10.96.0.10:80',
        remoteTarget: '10.0.0.2:8080',
        protocol: 'HBONE',
        peerIdentity: 'spiffe://cluster.local/ns/web/sa/echo',
        bytesSent: 3,
        bytesReceived: 4,
        startTime: '2026-01-02T03:04:05.000Z',
      },
    ]);
    r.close();
    assert.deepEqual(connections.dump(), []);
  });

  it('lists an inbound connection under the local destination workload, sorted', () => {
    const a = metrics.open(inbound, { src: '10.0.0.1:5000', dst: '10.0.0.2:8080', protocol: 'TCP' });
    const b = metrics.open(
      { ...outbound, connectionSecurityPolicy: 'unknown' },
      { src: '10.0.0.1:5001', dst: '1.1.1.1:443', protocol: 'TCP' },
    );
    const dump = connections.dump();
    assert.deepEqual(
      dump.map((c) => [c.workload, c.direction, c.local, c.remote, c.remoteTarget, c.peerIdentity]),
      [
        ['apps/sleep-0', 'outbound', '10.0.0.1:5001', '1.1.1.1:443', '1.1.1.1:443', undefined],
        [
          'web/echo-0',
          'inbound',
          '10.0.0.2:8080',
          '10.0.0.1:5000',
          '10.0.0.2:8080',
          'spiffe://cluster.local/ns/apps/sa/sleep',
        ],
      ],
    );
    assert.deepEqual(connections.countByDirection(), { inbound: 1, outbound: 1 });
    a.close();
    b.close();
    assert.equal(connections.size, 0);
  });

  it('exposes the traffic labels in Istio order in the text exposition', async () => {
    metrics.open(outbound, endpoints).close();
    const text = await registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{'));
    assert.ok(line);
    const names = [...line.matchAll(/([a-z_]+)="/g)].map((m) => m[1]);
    assert.deepEqual(names, TRAFFIC_LABEL_NAMES);
  });
});
