/**
 * The proxy handlers over real sockets on loopback, two pods on one host:
 * the eBPF layer is replaced by a stand-in (named FakeCapture below) that
 * records the original destination the app meant, and pods are loopback
 * addresses. The netns e2e suite covers the same paths with real capture.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import {
  ServiceSchema,
  TunnelProtocol,
  WorkloadSchema,
} from '../../../../src/gen/istio/workload/workload_pb.js';
import { AuthorizationSchema, Action, Scope } from '../../../../src/gen/istio/security/authorization_pb.js';
import { WorkloadStore, ADDRESS_TYPE_URL } from '../../../../src/ztunnel/state/index.js';
import { PolicySet } from '../../../../src/ztunnel/authz/index.js';
import { decodeWorkload } from '../../../../src/ztunnel/xds/index.js';
import { HbonePool } from '../../../../src/ztunnel/hbone/index.js';
import { TrafficMetrics, LiveConnections, GuardMetrics } from '../../../../src/ztunnel/telemetry/index.js';
import {
  PodProxy,
  LiveInbound,
  handleInboundPlaintext,
  handleOutbound,
  type LocalPod,
  type PodSockets,
  type ProxyContext,
} from '../../../../src/ztunnel/proxy/index.js';
import { createLogger, silentLogger } from '../../../../src/shared/logging.js';
import { createTestPki } from '../../../support/ca.js';
import { waitFor } from '../../../support/wait.js';

const base = `127.${randomInt(100, 250)}.${randomInt(0, 250)}`;
const FRONTEND_IP = `${base}.2`;
const BACKEND_IP = `${base}.3`;
const OUTSIDER_IP = `${base}.9`;
const VIP = '10.96.0.20';
const ipBytes = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));

/** Stands in for the eBPF capture: remembers where each app connection was meant to go. */
class FakeCapture implements PodSockets {
  // The tests connect one at a time, so the intended destinations are taken in order.
  private readonly intended: { address: string; port: number }[] = [];
  private readonly inboundIntended: { address: string; port: number }[] = [];
  readonly connectErrors = new WeakMap<net.Socket, string>();

  /** The app's connect(): to the outbound listener, remembering the intended destination. */
  async appConnect(from: string, outbound: net.Server, dst: { address: string; port: number }): Promise<net.Socket> {
    this.intended.push(dst);
    const s = net.connect({ host: from, port: (outbound.address() as AddressInfo).port, localAddress: from, allowHalfOpen: true });
    await once(s, 'connect');
    return s;
  }

  /** A plaintext client reaching the pod's 15006 as if sk_lookup had steered it there. */
  async plaintextConnect(from: string, listener: net.Server, dst: { address: string; port: number }): Promise<net.Socket> {
    this.inboundIntended.push(dst);
    const s = net.connect({ host: BACKEND_IP, port: (listener.address() as AddressInfo).port, localAddress: from, allowHalfOpen: true });
    // A refusal may reset the connection before the client saw it established.
    await new Promise<void>((resolve) => {
      s.once('connect', resolve);
      s.once('error', (err: NodeJS.ErrnoException) => {
        this.connectErrors.set(s, err.code ?? err.message);
        resolve();
      });
    });
    return s;
  }

  async connectInPod(pod: LocalPod, ip: string, port: number): Promise<net.Socket> {
    const s = net.connect({ host: ip, port, localAddress: pod.ips[0], allowHalfOpen: true });
    await once(s, 'connect');
    return s;
  }

  originalDestination() {
    return this.intended.shift();
  }

  inboundDestination(socket: net.Socket) {
    return this.inboundIntended.shift() ?? { address: socket.localAddress!, port: socket.localPort! };
  }
}

async function listen(host: string, port = 0): Promise<net.Server> {
  const s = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => s.listen(port, host, r));
  return s;
}

async function exchange(s: net.Socket, payload: string, timeoutMs = 4000): Promise<{ data: string; error?: string }> {
  if (s.destroyed) return { data: '', error: 'ECONNRESET' };
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.end(payload);
  const timer = setTimeout(() => s.destroy(new Error('timed out')), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('end', resolve);
      s.once('close', resolve);
      s.once('error', reject);
    });
    return { data: Buffer.concat(chunks).toString() };
  } catch (err) {
    return { data: Buffer.concat(chunks).toString(), error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

describe('ztunnel/proxy: outbound, HBONE inbound and plaintext inbound over real sockets', () => {
  const pki = createTestPki();
  // Each test gets its own registry, metrics and connection table (see beforeEach).
  let registry = new Registry();
  let connections = new LiveConnections();
  let metrics = new TrafficMetrics({ registry, logger: silentLogger, connections });
  let guards = new GuardMetrics(registry);
  const store = new WorkloadStore('node-1');
  const policies = new PolicySet();
  const capture = new FakeCapture();
  const pool = new HbonePool({ connectTimeoutMs: 3000 });
  const live = new LiveInbound();
  const seenByApp: string[] = [];
  const servers: net.Server[] = [];
  const proxies: PodProxy[] = [];
  let app: net.Server;
  let frontendOutbound: net.Server;
  let backendPlaintext: net.Server;
  let appPort: number;

  const ctx: ProxyContext = {
    store,
    policies,
    certificates: {
      fetchMaterial: async (identity) => {
        const c = pki.issueWorkload(identity);
        return { keyPem: c.keyPem, certChainPem: c.chainPem, rootPem: c.rootPem };
      },
    },
    pool,
    sockets: capture,
    get metrics() {
      return metrics;
    },
    get guards() {
      return guards;
    },
    logger: process.env.AMBIT_TEST_LOG ? createLogger('debug') : silentLogger,
    network: '',
    trustDomain: 'cluster.local',
    clusterId: 'Kubernetes',
    connectTimeoutMs: 3000,
  };

  const frontendPod: LocalPod = { uid: 'uid-frontend', name: 'frontend-1', namespace: 'demo', netnsPath: '/proc/self/ns/net', ips: [FRONTEND_IP] };
  const backendPod: LocalPod = { uid: 'uid-backend', name: 'backend-1', namespace: 'demo', netnsPath: '/proc/self/ns/net', ips: [BACKEND_IP] };

  const metricValue = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const values = (m as { values?: { labels: Record<string, string>; value: number }[] } | undefined)?.values ?? [];
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
      .reduce((n, v) => n + v.value, 0);
  };

  /** The first Address push: both pods and the backend Service (appPort must be known). */
  const addressPush = (): Parameters<WorkloadStore['applyDelta']>[0] => ({
    typeUrl: ADDRESS_TYPE_URL,
    upserts: [
      {
        kind: 'workload',
        workload: decodeWorkload(create(WorkloadSchema, {
          uid: 'Kubernetes//Pod/demo/frontend-1', name: 'frontend-1', namespace: 'demo', addresses: [ipBytes(FRONTEND_IP)],
          tunnelProtocol: TunnelProtocol.HBONE, serviceAccount: 'frontend', node: 'node-1', canonicalName: 'frontend', canonicalRevision: 'v1', workloadName: 'frontend', clusterId: 'Kubernetes',
        })),
      },
      {
        kind: 'workload',
        workload: decodeWorkload(create(WorkloadSchema, {
          uid: 'Kubernetes//Pod/demo/backend-1', name: 'backend-1', namespace: 'demo', addresses: [ipBytes(BACKEND_IP)],
          tunnelProtocol: TunnelProtocol.HBONE, serviceAccount: 'backend', node: 'node-1', canonicalName: 'backend', canonicalRevision: 'v1', workloadName: 'backend', clusterId: 'Kubernetes',
          authorizationPolicies: ['demo/backend-policy'],
          services: { 'demo/backend.demo.svc.cluster.local': { ports: [{ servicePort: 80, targetPort: appPort }] } },
        })),
      },
      {
        kind: 'service',
        service: create(ServiceSchema, {
          name: 'backend', namespace: 'demo', hostname: 'backend.demo.svc.cluster.local',
          addresses: [{ network: '', address: ipBytes(VIP) }], ports: [{ servicePort: 80, targetPort: appPort }],
        }),
      },
    ],
    removals: [],
  });

  before(async () => {
    app = await listen(BACKEND_IP);
    app.on('connection', (s) => {
      seenByApp.push(s.remoteAddress ?? '');
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`echo:${Buffer.concat(chunks).toString()}`));
      s.on('error', () => undefined);
    });
    appPort = (app.address() as AddressInfo).port;
    store.applyDelta(addressPush());
    store.markAddressesSynced();
    frontendOutbound = await listen(FRONTEND_IP);
    backendPlaintext = await listen(BACKEND_IP);
    const backendHbone = await listen(BACKEND_IP, 15008);
    const unusedHbone = await listen(FRONTEND_IP);
    const unusedPlain = await listen(FRONTEND_IP);
    const unusedOut = await listen(BACKEND_IP);
    servers.push(app, frontendOutbound, backendPlaintext, backendHbone, unusedHbone, unusedPlain, unusedOut);
    const fp = new PodProxy(ctx, frontendPod, { outbound: [frontendOutbound], inboundPlaintext: unusedPlain, hbone: unusedHbone }, live);
    const bp = new PodProxy(ctx, backendPod, { outbound: [unusedOut], inboundPlaintext: backendPlaintext, hbone: backendHbone }, live);
    proxies.push(fp, bp);
    await Promise.all([fp.refresh(), bp.refresh()]);
  });

  beforeEach(() => {
    registry = new Registry();
    connections = new LiveConnections();
    metrics = new TrafficMetrics({ registry, logger: silentLogger, connections });
    guards = new GuardMetrics(registry);
  });

  /** Every connection result closed: the live table and the open-sockets gauge back to zero. */
  const drained = async (): Promise<boolean> =>
    connections.size === 0 &&
    (await metricValue('istio_tcp_sockets_open', { reporter: 'source' })) === 0 &&
    (await metricValue('istio_tcp_sockets_open', { reporter: 'destination' })) === 0;

  afterEach(() => {
    for (const k of policies.all().map((p) => p.key)) policies.remove(k);
  });

  after(async () => {
    pool.close();
    for (const p of proxies) await p.close();
    for (const s of servers) {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  /** A frontend pod proxy over its own store (not yet synced) and listeners. */
  async function unsyncedFrontend(connectTimeoutMs: number): Promise<{ store: WorkloadStore; outbound: net.Server }> {
    const own = new WorkloadStore('node-1');
    own.applyDelta(addressPush());
    const outbound = await listen(FRONTEND_IP);
    const plain = await listen(FRONTEND_IP);
    const hbone = await listen(FRONTEND_IP);
    servers.push(outbound, plain, hbone);
    const proxy = new PodProxy({ ...ctx, store: own, connectTimeoutMs }, frontendPod, { outbound: [outbound], inboundPlaintext: plain, hbone }, live);
    proxies.push(proxy);
    await proxy.refresh();
    return { store: own, outbound };
  }

  it('holds an outbound connection made before the first Address push and routes it (HBONE) once the push is applied', async () => {
    const { store: own, outbound } = await unsyncedFrontend(3000);
    const s = await capture.appConnect(FRONTEND_IP, outbound, { address: VIP, port: 80 });
    const reply = exchange(s, 'early');
    await waitFor(() => own.waitingForAddresses === 1, 'the connection to wait for the Address push');
    own.markAddressesSynced();
    assert.deepEqual(await reply, { data: 'echo:early' });
    await waitFor(drained, 'both reporters to close the connection');
    assert.equal(await metricValue('istio_tcp_connections_opened_total', { reporter: 'source', connection_security_policy: 'mutual_tls' }), 1);
  });

  it('resets an outbound connection whose Address push does not come within the connect timeout (early deny, no passthrough)', async () => {
    const { store: own, outbound } = await unsyncedFrontend(200);
    const s = await capture.appConnect(FRONTEND_IP, outbound, { address: VIP, port: 80 });
    const reply = await exchange(s, 'too early');
    assert.equal(reply.data, '');
    assert.equal(reply.error, 'ECONNRESET');
    assert.equal(own.waitingForAddresses, 0, 'the waiter is dropped');
    assert.equal(await metricValue('ambit_early_denied_connections_total', { reason: 'workload_state_not_synced' }), 1);
    assert.equal(await metricValue('istio_tcp_connections_opened_total', {}), 0, 'nothing was routed');
  });

  it('carries a connection to a Service VIP through HBONE to the backend app and counts it at both reporters', async () => {
    const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: VIP, port: 80 });
    const reply = await exchange(s, 'hello');
    assert.deepEqual(reply, { data: 'echo:hello' });
    // The app sees the client pod's address: the agent connected from inside the pod.
    assert.equal(seenByApp.at(-1), BACKEND_IP);
    await waitFor(drained, 'both reporters to close the connection');
    const src = {
      reporter: 'source',
      source_workload: 'frontend',
      destination_service: 'backend.demo.svc.cluster.local',
      destination_principal: 'spiffe://cluster.local/ns/demo/sa/backend',
      connection_security_policy: 'mutual_tls',
    };
    assert.equal(await metricValue('istio_tcp_connections_opened_total', src), 1);
    assert.equal(await metricValue('istio_tcp_received_bytes_total', src), 5);
    assert.equal(await metricValue('istio_tcp_sent_bytes_total', src), 10);
    const dst = { reporter: 'destination', source_principal: 'spiffe://cluster.local/ns/demo/sa/frontend', destination_workload: 'backend' };
    assert.equal(await metricValue('istio_tcp_connections_closed_total', dst), 1);
    assert.equal(await metricValue('istio_tcp_received_bytes_total', dst), 5);
  });

  it('enforces a DENY policy at the destination: the client is reset and DENY is counted', async () => {
    policies.upsert(
      create(AuthorizationSchema, {
        name: 'backend-policy', namespace: 'demo', scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY,
        groups: [{ rules: [{ matches: [{ principals: [{ matchType: { case: 'exact', value: 'cluster.local/ns/demo/sa/frontend' } }] }] }] }],
      }),
    );
    const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: VIP, port: 80 });
    const reply = await exchange(s, 'nope');
    assert.equal(reply.data, '');
    assert.equal(reply.error, 'ECONNRESET');
    await waitFor(drained, 'both reporters to close the denied connection');
    assert.equal(await metricValue('istio_tcp_connections_failed_total', { reporter: 'destination', response_flags: 'DENY' }), 1);
  });

  it('closes a live inbound connection when a new policy denies it', async () => {
    const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: VIP, port: 80 });
    s.write('partial');
    await waitFor(() => live.size === 1, 'the inbound connection to be live');
    policies.upsert(create(AuthorizationSchema, { name: 'backend-policy', namespace: 'demo', scope: Scope.WORKLOAD_SELECTOR, action: Action.ALLOW, groups: [] }));
    assert.equal(live.recheck(policies), 1);
    const ended = await new Promise<string>((resolve) => {
      let how = 'closed';
      s.once('error', (err: NodeJS.ErrnoException) => (how = err.code ?? err.message));
      s.once('close', () => resolve(how));
    });
    assert.equal(ended, 'ECONNRESET');
    await waitFor(drained, 'the revoked connection to be closed at both reporters');
  });

  it('refuses plaintext under a policy that rejects connections without identity (STRICT), and admits it otherwise', async () => {
    const s1 = await capture.plaintextConnect(OUTSIDER_IP, backendPlaintext, { address: BACKEND_IP, port: appPort });
    assert.deepEqual(await exchange(s1, 'plain'), { data: 'echo:plain' });
    // What istiod sends for STRICT: DENY when the principal is absent.
    policies.upsert(
      create(AuthorizationSchema, {
        name: 'backend-policy', namespace: 'demo', scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY,
        groups: [{ rules: [{ matches: [{ notPrincipals: [{ matchType: { case: 'presence', value: {} } }] }] }] }],
      }),
    );
    const s2 = await capture.plaintextConnect(OUTSIDER_IP, backendPlaintext, { address: BACKEND_IP, port: appPort });
    const refused = await exchange(s2, 'plain');
    assert.equal(refused.data, '');
    assert.equal(capture.connectErrors.get(s2) ?? refused.error, 'ECONNRESET');
    // mTLS still passes under STRICT.
    const s3 = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: BACKEND_IP, port: appPort });
    assert.deepEqual(await exchange(s3, 'mtls'), { data: 'echo:mtls' });
  });

  it('passes a connection to an address outside the mesh through as plain TCP', async () => {
    const outside = await listen(OUTSIDER_IP);
    servers.push(outside);
    outside.on('connection', (c) => c.on('data', () => c.end('outside')).on('error', () => undefined));
    const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: OUTSIDER_IP, port: (outside.address() as AddressInfo).port });
    assert.deepEqual(await exchange(s, 'x'), { data: 'outside' });
    await waitFor(drained, 'the passthrough connection to close');
    assert.equal(await metricValue('istio_tcp_connections_closed_total', { reporter: 'source', connection_security_policy: 'unknown' }) >= 1, true);
  });

  it('resets the app when the destination workload has no listener (connect failure, flag CONNECT)', async () => {
    const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: BACKEND_IP, port: 1 });
    const reply = await exchange(s, 'x');
    assert.equal(reply.data, '');
    assert.equal(reply.error, 'ECONNRESET');
  });

  it('denies early a plaintext client that reset before its address was read, without throwing', async () => {
    // What a client that connects and resets at once looks like to the handler.
    const gone = new net.Socket();
    assert.equal(gone.remoteAddress, undefined);
    handleInboundPlaintext(ctx, backendPod, live, gone);
    handleOutbound(ctx, frontendPod, new net.Socket());
    assert.equal(await metricValue('ambit_early_denied_connections_total', { reason: 'no_peer_address' }), 2);
    assert.equal(connections.size, 0);
  });

  it('survives a burst of 2,000 denied HBONE connections, and the table and gauges come back to zero', async function () {
    this.timeout(60_000);
    policies.upsert(
      create(AuthorizationSchema, {
        name: 'backend-policy', namespace: 'demo', scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY,
        groups: [{ rules: [{ matches: [{ principals: [{ matchType: { case: 'exact', value: 'cluster.local/ns/demo/sa/frontend' } }] }] }] }],
      }),
    );
    const N = 2000;
    const results = await Promise.all(
      Array.from({ length: N }, async () => {
        const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: VIP, port: 80 });
        return exchange(s, 'x', 30_000);
      }),
    );
    // No app byte got through; the client sees a reset (or, when the reset raced its own FIN, a close).
    assert.equal(results.filter((r) => r.data !== '').length, 0);
    assert.ok(results.filter((r) => r.error === 'ECONNRESET').length > N * 0.9);
    await waitFor(drained, 'every denied connection to be closed', 20_000);
    // Every connection closed once at each reporter; all but those whose client raced the deny were DENY.
    assert.equal(await metricValue('istio_tcp_connections_closed_total', { reporter: 'source' }), N);
    assert.ok((await metricValue('istio_tcp_connections_failed_total', { reporter: 'destination', response_flags: 'DENY' })) > N * 0.9);
  });

  it('closes every connection result exactly once however the connection ends (finding 8)', async function () {
    this.timeout(60_000);
    const ways: ((s: net.Socket) => Promise<void>)[] = [
      // A clean exchange with half-close.
      async (s) => void (await exchange(s, 'clean')),
      // The app resets at once, before the upstream is ready.
      async (s) => {
        s.resetAndDestroy();
      },
      // The app writes, then resets mid-tunnel.
      async (s) => {
        s.write('partial');
        await new Promise((r) => setImmediate(r));
        s.resetAndDestroy();
      },
      // The app closes (FIN both ways at once) right after connecting.
      async (s) => {
        s.destroy();
      },
    ];
    const rounds = 100;
    await Promise.all(
      Array.from({ length: rounds * ways.length }, async (_, i) => {
        const s = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: VIP, port: 80 });
        s.on('error', () => undefined);
        await ways[i % ways.length]!(s);
      }),
    );
    // Plaintext connections closed before and after the upstream, too.
    for (let i = 0; i < 50; i++) {
      const s = await capture.plaintextConnect(OUTSIDER_IP, backendPlaintext, { address: BACKEND_IP, port: appPort });
      s.on('error', () => undefined);
      if (i % 2 === 0) s.resetAndDestroy();
      else await exchange(s, 'plain');
    }
    // Revoked connections.
    const held = await capture.appConnect(FRONTEND_IP, frontendOutbound, { address: VIP, port: 80 });
    held.on('error', () => undefined);
    held.write('x');
    await waitFor(() => live.size >= 1, 'a live inbound connection');
    policies.upsert(create(AuthorizationSchema, { name: 'backend-policy', namespace: 'demo', scope: Scope.WORKLOAD_SELECTOR, action: Action.ALLOW, groups: [] }));
    live.recheck(policies);
    await waitFor(drained, 'the live table and the open-sockets gauges to be back at zero', 20_000);
    assert.equal(live.size, 0);
    const opened = await metricValue('istio_tcp_connections_opened_total', {});
    const closed = await metricValue('istio_tcp_connections_closed_total', {});
    assert.equal(closed, opened);
  });
});
