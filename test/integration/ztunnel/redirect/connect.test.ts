/**
 * Connects from inside a pod's netns on a real kernel: only socket() runs in
 * the netns, the connect runs on the event loop with a deadline owned by the
 * attempt, and HBONE sockets carry ztunnel's TCP keepalive and
 * TCP_USER_TIMEOUT (listeners pass theirs on to accepted sockets).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import {
  HBONE_KEEPALIVE,
  HBONE_SOCKET_OPTIONS,
  HBONE_USER_TIMEOUT_MS,
  RedirectError,
  destroyInstance,
  openRedirect,
  type Redirect,
} from '../../../../src/ztunnel/redirect/index.js';
import { loadAddon, type TcpKeepaliveState } from '../../../../src/ztunnel/redirect/native.js';
import { TestWorld, ipIn, requireCaptureHost } from '../../../support/netns-min.js';

const POD_IP = '10.202.0.1';
/** Has a permanent neighbour entry on a veth whose peer drops the frames: SYNs get no answer. */
const BLACK_HOLE = '10.202.0.9';
const APP_PORT = 18080;
const CLOSED_PORT = 18081;

/**
 * The fd behind a net.Socket, for reading its options with getsockopt in a
 * test. Node has no public accessor; the agent never needs one.
 */
function fdOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  assert.ok(fd !== undefined && fd >= 0, 'the socket has an fd');
  return fd;
}

async function failureOf(p: Promise<unknown>): Promise<RedirectError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RedirectError, `expected a RedirectError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the connect to fail');
}

const HBONE_STATE: TcpKeepaliveState = { enabled: true, ...HBONE_KEEPALIVE, userTimeoutMs: HBONE_USER_TIMEOUT_MS };

describe('redirect: connects from inside a pod netns', function () {
  this.timeout(30_000);
  const world = new TestWorld();
  const instance = `t${world.id}-connect`;
  const servers: net.Server[] = [];
  let redirect: Redirect | undefined;
  let pod: { name: string; path: string };

  function r(): Redirect {
    assert.ok(redirect, 'redirect is open');
    return redirect;
  }

  /** A server in the pod on one of the addon's listeners; resolves each accepted socket through `onSocket`. */
  async function serve(port: number, onSocket: (s: net.Socket) => void = (s) => s.destroy()): Promise<void> {
    const fd = await r().listenInPod(pod.path, '0.0.0.0', port);
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      onSocket(s);
    });
    await new Promise<void>((resolve) => server.listen({ fd }, resolve));
    servers.push(server);
  }

  /** Listens on `port` in the pod, connects to it from the pod, and returns both ends. */
  async function acceptedOn(port: number): Promise<{ client: net.Socket; accepted: net.Socket }> {
    const fd = await r().listenInPod(pod.path, '0.0.0.0', port);
    let onAccept: (s: net.Socket) => void = () => undefined;
    const accepted = new Promise<net.Socket>((resolve) => (onAccept = resolve));
    const server = net.createServer((s) => onAccept(s));
    await new Promise<void>((resolve) => server.listen({ fd }, resolve));
    servers.push(server);
    const client = await r().connectInPod(pod.path, POD_IP, port);
    return { client, accepted: await accepted };
  }

  before(async () => {
    requireCaptureHost();
    pod = world.addNetns('connect');
    ipIn(pod.name, 'link', 'add', `vx${world.id}`, 'type', 'veth', 'peer', 'name', `vy${world.id}`);
    ipIn(pod.name, 'addr', 'add', `${POD_IP}/24`, 'dev', `vx${world.id}`);
    ipIn(pod.name, 'link', 'set', `vx${world.id}`, 'up');
    ipIn(pod.name, 'link', 'set', `vy${world.id}`, 'up');
    ipIn(pod.name, 'neigh', 'add', BLACK_HOLE, 'lladdr', '02:00:00:00:00:09', 'dev', `vx${world.id}`, 'nud', 'permanent');
    redirect = await openRedirect({ instance });
    await serve(APP_PORT);
  });

  after(async () => {
    for (const s of servers) s.close();
    redirect?.close();
    await destroyInstance(instance);
    await world.remove();
  });

  it('connects from the pod: the socket is in the pod netns and its source is the pod address', async () => {
    const s = await r().connectInPod(pod.path, POD_IP, APP_PORT);
    try {
      assert.equal(s.localAddress, POD_IP);
      assert.equal(s.remotePort, APP_PORT);
    } finally {
      s.destroy();
    }
  });

  it('a refused connect rejects with REDIRECT_CONNECT_FAILED and the socket error as cause', async () => {
    const err = await failureOf(r().connectInPod(pod.path, POD_IP, CLOSED_PORT));
    assert.equal(err.code, 'REDIRECT_CONNECT_FAILED');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.match(err.message, new RegExp(`${POD_IP}:${CLOSED_PORT}`));
  });

  it('a connect nobody answers gives up at its deadline with REDIRECT_CONNECT_TIMEOUT', async () => {
    const err = await failureOf(r().connectInPod(pod.path, BLACK_HOLE, APP_PORT, { timeoutMs: 200 }));
    assert.equal(err.code, 'REDIRECT_CONNECT_TIMEOUT');
    assert.match(err.message, /no answer in 200 ms/);
  });

  it('an aborted connect rejects at once with REDIRECT_CONNECT_TIMEOUT', async () => {
    const controller = new AbortController();
    const attempt = r().connectInPod(pod.path, BLACK_HOLE, APP_PORT, { timeoutMs: 60_000, signal: controller.signal });
    setImmediate(() => controller.abort(new Error('caller deadline')));
    assert.equal((await failureOf(attempt)).code, 'REDIRECT_CONNECT_TIMEOUT');
  });

  it('a connect from a missing netns rejects with REDIRECT_CONNECT_FAILED naming the netns', async () => {
    const missing = `/var/run/netns/${world.name('missing')}`;
    const err = await failureOf(r().connectInPod(missing, POD_IP, APP_PORT));
    assert.equal(err.code, 'REDIRECT_CONNECT_FAILED');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    assert.match(err.message, new RegExp(missing));
  });

  it('an address that is not an IP literal is refused before any socket is made', async () => {
    assert.equal((await failureOf(r().connectInPod(pod.path, 'backend.local', 80))).code, 'REDIRECT_BAD_ADDRESS');
  });

  it('200 hanging connects hold no thread: a connect to a listening port and the fs pool answer while they wait', async () => {
    // With a blocking connect per pool thread (4 by default) the probes
    // below would queue behind 50 rounds of the hanging attempts' deadline.
    let settled = 0;
    const hanging = Array.from({ length: 200 }, () =>
      r()
        .connectInPod(pod.path, BLACK_HOLE, APP_PORT, { timeoutMs: 2_000 })
        .then(
          (s) => s.destroy(),
          (err: unknown) => err,
        )
        .finally(() => settled++),
    );
    const probe = await r().connectInPod(pod.path, POD_IP, APP_PORT);
    probe.destroy();
    await fs.promises.stat(pod.path);
    assert.equal(settled, 0, 'the probes finished while every hanging connect was still waiting');
    const results = await Promise.all(hanging);
    assert.ok(results.every((e) => e instanceof RedirectError && e.code === 'REDIRECT_CONNECT_TIMEOUT'));
  });

  it("an HBONE dial carries ztunnel's keepalive and TCP_USER_TIMEOUT; a plain upstream carries none", async () => {
    const hbone = await r().connectInPod(pod.path, POD_IP, APP_PORT, HBONE_SOCKET_OPTIONS);
    const plain = await r().connectInPod(pod.path, POD_IP, APP_PORT);
    try {
      assert.deepEqual(loadAddon().tcpKeepalive(fdOf(hbone)), HBONE_STATE);
      const p = loadAddon().tcpKeepalive(fdOf(plain));
      assert.equal(p.enabled, false);
      assert.equal(p.userTimeoutMs, 0);
    } finally {
      hbone.destroy();
      plain.destroy();
    }
  });

  it('a 15008 listener has the HBONE keepalive and TCP_USER_TIMEOUT, and the sockets it accepts inherit them', async () => {
    const { client, accepted } = await acceptedOn(15008);
    try {
      assert.deepEqual(loadAddon().tcpKeepalive(fdOf(accepted)), HBONE_STATE);
    } finally {
      client.destroy();
      accepted.destroy();
    }
  });

  it('a listener on another port leaves keepalive off on what it accepts', async () => {
    const { client, accepted } = await acceptedOn(18082);
    try {
      const state = loadAddon().tcpKeepalive(fdOf(accepted));
      assert.equal(state.enabled, false);
      assert.equal(state.userTimeoutMs, 0);
    } finally {
      client.destroy();
      accepted.destroy();
    }
  });

  it('the original destination of a socket from a netns without a listener of ours is unknown', async () => {
    const s = await r().connectInPod(pod.path, POD_IP, APP_PORT);
    try {
      assert.equal(r().originalDestination(s, '/var/run/netns/not-a-pod'), undefined);
    } finally {
      s.destroy();
    }
  });
});
