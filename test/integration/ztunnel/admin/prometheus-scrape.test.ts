import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { StatsServer } from '../../../../src/ztunnel/admin/index.js';
import {
  ResponseFlag,
  TrafficMetrics,
  trafficLabels,
  type ConnectionContext,
  type TrafficLabels,
} from '../../../../src/ztunnel/telemetry/index.js';
import { startPrometheus, type PrometheusInstance } from '../../../support/prometheus.js';

function selector(labels: TrafficLabels): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
}

const ctx: ConnectionContext = {
  reporter: 'destination',
  source: {
    name: 'sleep-0',
    namespace: 'apps',
    workloadName: 'sleep',
    canonicalName: 'sleep',
    canonicalRevision: 'v1',
    clusterId: 'Kubernetes',
    identity: { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'sleep' },
  },
  destination: {
    name: 'echo-0',
    namespace: 'web',
    workloadName: 'echo',
    canonicalName: 'echo',
    canonicalRevision: 'v2',
    clusterId: 'Kubernetes',
    identity: { trustDomain: 'cluster.local', namespace: 'web', serviceAccount: 'echo' },
  },
  destinationService: { hostname: 'echo.web.svc.cluster.local', name: 'echo', namespace: 'web' },
  peerIdentity: { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'sleep' },
  connectionSecurityPolicy: 'mutual_tls',
};

describe('stats server scraped by a real Prometheus', function () {
  this.timeout(90000);
  let registry: Registry;
  let stats: StatsServer;
  let prometheus: PrometheusInstance | undefined;
  let traffic: TrafficMetrics;

  before(async () => {
    registry = new Registry();
    traffic = new TrafficMetrics({ registry, logger: pino({ level: 'silent' }) });
    stats = new StatsServer({ registry, logger: pino({ level: 'silent' }) });
    const port = await stats.listen('127.0.0.1', 0);
    prometheus = await startPrometheus({
      jobs: [{ job: 'ztunnel', targets: [`127.0.0.1:${port}`], metricsPath: '/stats/prometheus' }],
      scrapeIntervalSeconds: 1,
    });
  });

  after(async () => {
    await prometheus?.stop();
    await stats.close();
    registry.clear();
  });

  it('stores istio_tcp_received_bytes_total equal to the bytes the connections recorded', async () => {
    assert.ok(prometheus);
    const labels = trafficLabels(ctx);
    const a = traffic.open(ctx, { src: '10.0.0.1:40000', dst: '10.0.0.2:8080', protocol: 'HBONE' });
    a.recordReceived(1000);
    a.recordReceived(234);
    a.recordSent(99);
    a.close();
    const query = `istio_tcp_received_bytes_total${selector(labels)}`;
    const first = await prometheus.waitForQuery(query, (s) => s.length === 1 && s[0]?.value === 1234);
    assert.equal(first[0]?.metric.job, 'ztunnel');
    assert.equal(first[0]?.metric.source_principal, 'spiffe://cluster.local/ns/apps/sa/sleep');

    // A later connection with the same labels adds to the same series.
    const b = traffic.open(ctx, { src: '10.0.0.1:40001', dst: '10.0.0.2:8080', protocol: 'HBONE' });
    b.recordReceived(766);
    b.close(ResponseFlag.Connect);
    await prometheus.waitForQuery(query, (s) => s.length === 1 && s[0]?.value === 2000);
    const failed = await prometheus.waitForQuery(
      `istio_tcp_connections_failed_total{response_flags="CONNECT",destination_workload="echo"}`,
      (s) => s.length === 1 && s[0]?.value === 1,
    );
    assert.equal(failed[0]?.metric.reporter, 'destination');
    const sent = await prometheus.query(`istio_tcp_sent_bytes_total${selector(labels)}`);
    assert.deepEqual(
      sent.map((s) => s.value),
      [99],
    );
  });
});

describe('test Prometheus helper', function () {
  this.timeout(60000);
  let started: PrometheusInstance | undefined;

  after(async () => {
    await started?.stop();
  });

  it('fails with a hint to run scripts/setup.sh when the binary is missing', async () => {
    await assert.rejects(
      startPrometheus({ jobs: [], binary: '/nonexistent/bin/prometheus' }),
      /\/nonexistent\/bin\/prometheus is missing: run scripts\/setup\.sh/,
    );
  });

  it('stops Prometheus by PID and removes its directory', async () => {
    started = await startPrometheus({ jobs: [] });
    const { pid, dir } = started;
    assert.ok(existsSync(dir));
    await started.stop();
    assert.equal(existsSync(dir), false);
    assert.throws(
      () => process.kill(pid, 0),
      (err: NodeJS.ErrnoException) => err.code === 'ESRCH',
    );
  });
});
