/**
 * The data plane end to end, in a netns cluster on this machine: istiod,
 * two nodes each with its agent (real eBPF capture, real mTLS HBONE), a
 * frontend on node0 and two backends on node1, an unenrolled client pod,
 * a real Prometheus. Everything is removed in `after`, failure included.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { meshDown, meshUp, DEMO_SERVICES } from '../../../src/mesh/local-mesh.js';
import type { MeshState, PodRecord } from '../../../src/mesh/state.js';
import type { ClusterPod, NetnsCluster } from '../../../src/mesh/cluster/index.js';
import { findLeftovers } from '../../../src/mesh/cluster/index.js';
import { startPrometheus, type PrometheusInstance } from '../../support/prometheus.js';
import {
  AMBIT_BIN,
  DEMO_APP,
  TCP_EXCHANGE_SCRIPT,
  eventually,
  execInPod,
  podOf,
  requireBuild,
  scrape,
  sumMetric,
} from '../../support/mesh.js';

const HTTP_REQUEST = 'GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n';

describe('e2e: the mesh data plane across two nodes (eBPF capture, HBONE mTLS, L4 policy, metrics)', function () {
  this.timeout(240_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'ambit-e2e-dp-'));
  const prefix = `ambit-e2e-${randomBytes(3).toString('hex')}`;
  let state: MeshState;
  let cluster: NetnsCluster;
  let outsider: ClusterPod;
  let prometheus: PrometheusInstance | undefined;
  let frontend: PodRecord;
  let backendAgent: MeshState['agents'][number];

  const exchange = (from: Pick<PodRecord, 'cgroup' | 'netns'>, host: string, port: number, payload = HTTP_REQUEST) =>
    execInPod(from, [process.execPath, '-e', TCP_EXCHANGE_SCRIPT, host, String(port), payload]);

  before(async function () {
    requireBuild();
    const up = await meshUp({
      stateDir,
      nodes: 2,
      demo: 'frontend-backend',
      prefix,
      ambitArgv: [process.execPath, AMBIT_BIN],
      demoAppArgv: [process.execPath, DEMO_APP],
      trafficMs: 0,
    });
    state = up.state;
    assert.ok(up.cluster, 'meshUp built the cluster');
    cluster = up.cluster;
    outsider = await cluster.addPod('node0', 'outsider');
    frontend = podOf(state, 'frontend');
    backendAgent = state.agents.find((a) => a.node === 'node1')!;
  });

  after(async function () {
    await prometheus?.stop();
    await meshDown(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
    const left = await findLeftovers(prefix);
    assert.deepEqual(left, { netns: [], links: [], cgroups: [] }, 'nothing of the suite is left behind');
  });

  it('reaches the backend by Service VIP and by pod IP, spreading VIP connections over both backends', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await exchange(frontend, DEMO_SERVICES.backend, 80);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^HTTP\/1\.1 200/);
      const m = /hello from (backend-[\w-]+)/.exec(r.stdout);
      if (m) seen.add(m[1]!);
    }
    assert.equal(seen.size, 2, `both backends answered: ${[...seen].join(', ')}`);
    const b0 = podOf(state, 'backend', 0);
    const direct = await exchange(frontend, b0.ips[0]!, 8080);
    assert.match(direct.stdout, new RegExp(`hello from ${b0.name}`));
  });

  it('encrypts the tunnel: the underlay shows TLS to 15008 and never the payload', async () => {
    const marker = `ambit-secret-${randomBytes(8).toString('hex')}`;
    const pcap = join(stateDir, 'capture.pcap');
    const node1 = cluster.node('node1');
    let tcpdumpLog = '';
    const tcpdump = spawn('ip', ['netns', 'exec', node1.netns, 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', 'eth0', '-U', '-w', pcap, 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      // tcpdump says "listening on eth0" once it captures.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('tcpdump did not start within 10 s')), 10_000);
        tcpdump.stderr.on('data', (c: Buffer) => {
          tcpdumpLog += c.toString();
          if (tcpdumpLog.includes('listening on')) {
            clearTimeout(timer);
            resolve();
          }
        });
        tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${tcpdumpLog}`)));
      });
      for (let i = 0; i < 3; i++) {
        const r = await exchange(frontend, DEMO_SERVICES.backend, 80, `GET /${marker} HTTP/1.1\r\nHost: b\r\nX-Marker: ${marker}\r\nConnection: close\r\n\r\n`);
        assert.equal(r.code, 0, r.stderr);
      }
      // The capture is written packet by packet (-U): wait until the packets are on disk.
      await eventually(async () => existsSync(pcap) && statSync(pcap).size >= 1000, 'tcpdump wrote the packets', 5_000, 100).catch(() => undefined);
    } finally {
      tcpdump.kill('SIGINT');
      if (tcpdump.exitCode === null) await new Promise((r) => tcpdump.once('exit', r));
    }
    const bytes = readFileSync(pcap);
    assert.ok(bytes.length > 1000, `the capture saw traffic (pcap ${bytes.length} bytes; tcpdump: ${tcpdumpLog.trim()})`);
    assert.equal(bytes.includes(Buffer.from(marker)), false, 'the payload never crosses the underlay in clear');
    const summary = await new Promise<string>((resolve) => {
      const p = spawn('tcpdump', ['-nn', '-r', pcap], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.on('close', () => resolve(out));
    });
    assert.match(summary, /\.15008[ :]/, 'the tunnel runs to port 15008');
    unlinkSync(pcap);
  });

  it('shows the frontend identity at the backend agent, in metrics and in live connections', async () => {
    const holder = execInPod(frontend, [process.execPath, '-e', "const s=require('net').connect(8080, process.argv[1]); s.on('connect',()=>setTimeout(()=>s.destroy(),4000)); s.on('error',()=>{})", podOf(state, 'backend', 0).ips[0]!]);
    await eventually(async () => {
      const dump = (await (await fetch(`http://${backendAgent.adminAddress}/config_dump`)).json()) as { connections: { peerIdentity?: string; direction: string }[] };
      return dump.connections.some((c) => c.direction === 'inbound' && c.peerIdentity === 'spiffe://cluster.local/ns/demo/sa/frontend');
    }, 'the backend agent lists a live inbound connection from the frontend identity');
    await holder;
    const metrics = await scrape(backendAgent.statsAddress);
    assert.ok(
      sumMetric(metrics, 'istio_tcp_connections_opened_total', {
        reporter: 'destination',
        source_principal: 'spiffe://cluster.local/ns/demo/sa/frontend',
        destination_principal: 'spiffe://cluster.local/ns/demo/sa/backend',
        connection_security_policy: 'mutual_tls',
      }) > 0,
    );
  });

  it('blocks with a DENY policy and restores when it is removed, without restarting anything', async () => {
    const file = join(state.configDir, 'e2e-deny.yaml');
    writeFileSync(
      file,
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-frontend, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/demo/sa/frontend"]}}]}]
`,
    );
    await eventually(async () => (await exchange(frontend, DEMO_SERVICES.backend, 80)).code !== 0, 'the DENY takes effect');
    const denied = await exchange(frontend, DEMO_SERVICES.backend, 80);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /ECONNRESET|EPIPE/);
    unlinkSync(file);
    await eventually(async () => (await exchange(frontend, DEMO_SERVICES.backend, 80)).code === 0, 'removing the DENY restores traffic');
    const metrics = await scrape(backendAgent.statsAddress);
    assert.ok(sumMetric(metrics, 'istio_tcp_connections_failed_total', { reporter: 'destination', response_flags: 'DENY' }) > 0);
  });

  it('lets a plaintext client from an unenrolled pod in under PERMISSIVE and refuses it under STRICT', async () => {
    const backend = podOf(state, 'backend', 0);
    const permissive = await exchange(outsider, backend.ips[0]!, 8080);
    assert.equal(permissive.code, 0, permissive.stderr);
    assert.match(permissive.stdout, /hello from backend/);
    const file = join(state.configDir, 'e2e-strict.yaml');
    writeFileSync(file, 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n');
    try {
      await eventually(async () => (await exchange(outsider, backend.ips[0]!, 8080)).code !== 0, 'STRICT refuses plaintext');
      // mTLS from the frontend still works under STRICT.
      const mtls = await exchange(frontend, backend.ips[0]!, 8080);
      assert.equal(mtls.code, 0, mtls.stderr);
    } finally {
      unlinkSync(file);
    }
    await eventually(async () => (await exchange(outsider, backend.ips[0]!, 8080)).code === 0, 'back to PERMISSIVE');
  });

  it('is scraped by a real Prometheus whose PromQL counts match what was sent', async () => {
    prometheus = await startPrometheus({ jobs: [{ job: 'ztunnel', targets: state.agents.map((a) => a.statsAddress) }] });
    const query = 'sum(istio_tcp_received_bytes_total{reporter="destination",source_principal="spiffe://cluster.local/ns/demo/sa/frontend"})';
    const opened = 'sum(istio_tcp_connections_opened_total{reporter="destination",source_principal="spiffe://cluster.local/ns/demo/sa/frontend"})';
    const valueOf = async (q: string): Promise<number> => {
      const r = await prometheus!.query(q);
      return r[0]?.value ?? 0;
    };
    await eventually(async () => (await prometheus!.query(opened)).length > 0, 'Prometheus has scraped the agents', 30_000);
    // The baseline comes from a scrape of every agent made after the earlier connections ended.
    const settledAt = Date.now() / 1000;
    await eventually(async () => ((await prometheus!.query('min(timestamp(up{job="ztunnel"}))'))[0]?.value ?? 0) > settledAt, 'Prometheus scraped every agent again', 30_000, 200);
    const bytesBefore = await valueOf(query);
    const openedBefore = await valueOf(opened);
    const n = 5;
    for (let i = 0; i < n; i++) assert.equal((await exchange(frontend, DEMO_SERVICES.backend, 80)).code, 0);
    await eventually(
      async () => (await valueOf(opened)) === openedBefore + n && (await valueOf(query)) === bytesBefore + n * HTTP_REQUEST.length,
      `PromQL shows ${n} more connections and ${n * HTTP_REQUEST.length} more request bytes`,
      30_000,
      500,
    );
  });
});
