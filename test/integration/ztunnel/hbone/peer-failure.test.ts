/**
 * A peer that dies or stops answering, in a real child process: the pool
 * and the server notice it (PING keepalive, the socket closing), evict the
 * session, reset the app's tunnels, and this process stays up. Keepalive
 * timings are scaled down (200 ms / 400 ms instead of ztunnel's 10 s / 20 s)
 * so each case takes about a second.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { HbonePool, HboneServer, HboneError, type TlsMaterial } from '../../../../src/ztunnel/hbone/index.js';
import { splice } from '../../../../src/ztunnel/proxy/index.js';
import { createLogger } from '../../../../src/shared/logging.js';
import { echoConnection } from '../../../support/hbone-loopback.js';
import { createTestPki, type TestCredential } from '../../../support/ca.js';
import { startChildPeer, type ChildPeer } from '../../../support/child-peer.js';
import { waitFor } from '../../../support/wait.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';
const KEEPALIVE = { intervalMs: 200, timeoutMs: 400 };
/** Interval + timeout + slack for a loaded CI machine. */
const RESET_BOUND_MS = 3000;

const material = (c: TestCredential): TlsMaterial => ({ keyPem: c.keyPem, certChainPem: c.chainPem, rootPem: c.rootPem });

async function listen(handler: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const portOf = (s: net.Server): number => (s.address() as AddressInfo).port;

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(s, 'connect');
  return s;
}

/** Resolves with how the socket ended and how long after `since` it did. */
function endOf(socket: net.Socket, since: () => number): Promise<{ how: string; afterMs: number }> {
  return new Promise((resolve) => {
    let how = 'closed';
    socket.once('error', (err: NodeJS.ErrnoException) => (how = err.code ?? err.message));
    socket.once('close', () => resolve({ how, afterMs: performance.now() - since() }));
  });
}

describe('ztunnel/hbone: a peer that dies or stops answering', function () {
  this.timeout(30_000);
  const pki = createTestPki();
  const frontend = material(pki.issueWorkload(FRONTEND));
  const backend = material(pki.issueWorkload(BACKEND));
  const cleanups: (() => Promise<void> | void)[] = [];
  let echo: net.Server;

  before(async () => {
    echo = await listen(echoConnection);
  });

  after(() => new Promise<void>((r) => echo.close(() => r())));

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** The app's connection, tunnelled through `pool` to the peer's echo app (an outbound proxy in small). */
  async function appTunnel(pool: HbonePool, peerPort: number): Promise<net.Socket> {
    const proxy = await listen((downstream) => {
      downstream.on('error', () => undefined);
      pool
        .connect({
          source: { identity: FRONTEND, material: frontend, connect: (t) => connect(t.port) },
          destination: { ip: '127.0.0.1', port: peerPort },
          expectedIdentities: [BACKEND],
          target: { ip: '127.0.0.1', port: portOf(echo) },
        })
        .then(
          (stream) => splice(downstream, stream, undefined, undefined),
          () => downstream.resetAndDestroy(),
        );
    });
    cleanups.push(() => new Promise<void>((r) => proxy.close(() => r())));
    const app = await connect(portOf(proxy));
    app.on('error', () => undefined);
    app.write('ping');
    const [reply] = (await once(app, 'data')) as [Buffer];
    assert.equal(reply.toString(), 'ping');
    return app;
  }

  async function serverPeer(): Promise<ChildPeer> {
    const peer = await startChildPeer({ mode: 'server', material: backend, appPort: portOf(echo), keepalive: KEEPALIVE });
    cleanups.push(() => peer.stop());
    return peer;
  }

  it('client pool: a SIGSTOPped peer is dropped by PING timeout and the app gets an RST within the bound', async () => {
    const peer = await serverPeer();
    const pool = new HbonePool({ keepalive: KEEPALIVE });
    cleanups.push(() => pool.close());
    const app = await appTunnel(pool, peer.ready.port as number);
    let stoppedAt = 0;
    const ended = endOf(app, () => stoppedAt);
    peer.child.kill('SIGSTOP');
    stoppedAt = performance.now();
    const { how, afterMs } = await ended;
    assert.equal(how, 'ECONNRESET');
    assert.ok(afterMs < RESET_BOUND_MS, `reset after ${afterMs.toFixed(0)} ms`);
    assert.deepEqual(pool.stats(), []);
    process.stdout.write(`      RST to the app ${afterMs.toFixed(0)} ms after SIGSTOP (keepalive ${KEEPALIVE.intervalMs}/${KEEPALIVE.timeoutMs} ms)\n`);
  });

  it('client pool: a SIGKILLed peer resets the app at once and a new CONNECT fails fast instead of waiting on the dead session', async () => {
    const peer = await serverPeer();
    const port = peer.ready.port as number;
    const pool = new HbonePool({ keepalive: KEEPALIVE, connectTimeoutMs: 10_000 });
    cleanups.push(() => pool.close());
    const app = await appTunnel(pool, port);
    let killedAt = 0;
    const ended = endOf(app, () => killedAt);
    peer.child.kill('SIGKILL');
    killedAt = performance.now();
    const { how, afterMs } = await ended;
    assert.equal(how, 'ECONNRESET');
    // The peer's kernel sent FIN: no PING needs to time out first.
    assert.ok(afterMs < KEEPALIVE.intervalMs, `reset after ${afterMs.toFixed(0)} ms`);
    process.stdout.write(`      RST to the app ${afterMs.toFixed(0)} ms after SIGKILL\n`);
    // The app's RST can come before the kernel has closed the peer's listener;
    // once the process is reaped, the port refuses.
    await peer.stop();
    const started = performance.now();
    await assert.rejects(
      pool.connect({
        source: { identity: FRONTEND, material: frontend, connect: (t) => connect(t.port) },
        destination: { ip: '127.0.0.1', port },
        expectedIdentities: [BACKEND],
        target: { ip: '127.0.0.1', port: portOf(echo) },
      }),
      (e: unknown) => e instanceof HboneError && e.code === 'HBONE_TCP_FAILURE' && /ECONNREFUSED/.test(e.message),
    );
    assert.ok(performance.now() - started < 1000, 'a new CONNECT did not wait on the dead session');
  });

  it('server: a SIGSTOPped client is dropped by PING timeout, its upstream is reset and the server keeps serving', async () => {
    let upstreamEnd: Promise<{ how: string; afterMs: number }> | undefined;
    let stoppedAt = 0;
    const received: string[] = [];
    const app = await listen((s) => {
      s.on('data', (d) => received.push(d.toString()));
      s.on('end', () => s.end());
      upstreamEnd = endOf(s, () => stoppedAt);
    });
    cleanups.push(() => new Promise<void>((r) => app.close(() => r())));
    const server = new HboneServer({
      material: backend,
      trustDomain: 'cluster.local',
      keepalive: KEEPALIVE,
      ...(process.env.AMBIT_TEST_LOG ? { logger: createLogger('debug') } : {}),
      handle: async () => {
        const upstream = await connect(portOf(app));
        upstream.on('error', () => undefined);

        return { kind: 'accept', open: (tunnel) => splice(tunnel, upstream, undefined, undefined), abandon: () => upstream.resetAndDestroy() };
      },
    });
    cleanups.push(() => server.close());
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = await startChildPeer({
      mode: 'client',
      material: frontend,
      identity: FRONTEND,
      serverPort: port,
      serverIdentity: BACKEND,
      appPort: portOf(app),
      keepalive: { intervalMs: 60_000, timeoutMs: 60_000 },
    });
    cleanups.push(() => client.stop());
    await waitFor(() => received.join('') === 'hello', 'the tunnelled bytes at the app');
    assert.equal(server.activeSessions, 1);
    client.child.kill('SIGSTOP');
    stoppedAt = performance.now();
    const { how, afterMs } = await upstreamEnd!;
    assert.equal(how, 'ECONNRESET');
    assert.ok(afterMs < RESET_BOUND_MS, `upstream reset after ${afterMs.toFixed(0)} ms`);
    await waitFor(() => server.activeSessions === 0, 'the dead session to leave the server');
    // Still serving: a fresh client gets through.
    const pool = new HbonePool();
    cleanups.push(() => pool.close());
    const stream = await pool.connect({
      source: { identity: FRONTEND, material: frontend, connect: (t) => connect(t.port) },
      destination: { ip: '127.0.0.1', port },
      expectedIdentities: [BACKEND],
      target: { ip: '127.0.0.1', port: portOf(app) },
    });
    stream.destroy();
  });
});
