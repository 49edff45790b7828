/**
 * Capture in the netns cluster: pod node0-p0 is enrolled and a minimal agent
 * (in this process) proxies what the programs steer to it — outbound from
 * 15001 to the original destination, inbound from 15006 to the app over lo —
 * so the pods' own echo servers answer through the capture.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { pipeline } from 'node:stream';
import { createCluster, type NetnsCluster } from '../../../src/mesh/cluster/index.js';
import { destroyInstance, openRedirect, type Redirect } from '../../../src/ztunnel/redirect/index.js';
import { runId } from '../../support/netns-min.js';
import { requireRoot, startEchoServer, tcpFromPod, tempStateDir } from '../../support/netns.js';

describe('redirect in the netns cluster (e2e)', function () {
  this.timeout(60_000);
  const state = tempStateDir();
  const instance = `e2e-redirect-${runId()}`;
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let cluster: NetnsCluster | undefined;
  let redirect: Redirect | undefined;
  const proxied: string[] = [];

  function c(): NetnsCluster {
    assert.ok(cluster);
    return cluster;
  }

  /** Joins an accepted socket to a socket the agent opens from inside the pod netns. */
  async function splice(accepted: net.Socket, netnsPath: string, host: string, port: number): Promise<void> {
    assert.ok(redirect);
    const upstream = await redirect.connectInPod(netnsPath, host, port);
    for (const s of [accepted, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    pipeline(accepted, upstream, accepted, () => {
      accepted.destroy();
      upstream.destroy();
    });
  }

  async function serve(netnsPath: string, port: number, onSocket: (s: net.Socket) => Promise<void>): Promise<number> {
    assert.ok(redirect);
    const fd = await redirect.listenInPod(netnsPath, '::', port);
    // Half-open and paused: the client may send and half-close before the upstream is dialled.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
      s.on('error', () => {});
      onSocket(s).catch(() => s.destroy());
    });
    await new Promise<void>((resolve) => server.listen({ fd }, resolve));
    servers.push(server);
    return fd;
  }

  before(async () => {
    requireRoot();
    cluster = await createCluster({ nodes: 1, podsPerNode: 2, stateDir: state.dir });
    await startEchoServer(cluster, { pod: 'node0-p0' }, 8080);
    await startEchoServer(cluster, { pod: 'node0-p1' }, 7000);
    redirect = await openRedirect({ instance });
    const p0 = cluster.pod('node0-p0');
    await serve(p0.netnsPath, 15001, async (s) => {
      const od = redirect?.originalDestination(s, p0.netnsPath);
      assert.ok(od, 'captured connection has an original destination');
      proxied.push(`outbound ${od.address}:${od.port}`);
      await splice(s, p0.netnsPath, od.address, od.port);
    });
    const inboundFd = await serve(p0.netnsPath, 15006, async (s) => {
      const local = (s.localAddress ?? '').replace(/^::ffff:/, '');
      proxied.push(`inbound ${local}:${s.localPort}`);
      await splice(s, p0.netnsPath, local, s.localPort ?? 0);
    });
    await redirect.enrollPod({
      uid: p0.uid,
      cgroupPath: p0.cgroup,
      netnsPath: p0.netnsPath,
      ips: p0.ips,
      inboundListenerFd: inboundFd,
    });
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    redirect?.close();
    await destroyInstance(instance);
    await cluster?.destroy();
    state.remove();
  });

  it('an enrolled pod reaches another pod through the agent, which dials the original destination', async () => {
    const p1 = c().pod('node0-p1');
    const out = await tcpFromPod(c(), 'node0-p0', p1.ip, 7000, 'hello');
    assert.deepEqual(out, { kind: 'reply', text: `${p1.ip}:7000 hello` });
    assert.ok(proxied.includes(`outbound ${p1.ip}:7000`), proxied.join(', '));
  });

  it('another pod reaches the enrolled pod through the agent, and the app sees its own address as local', async () => {
    const p0 = c().pod('node0-p0');
    const out = await tcpFromPod(c(), 'node0-p1', p0.ip, 8080, 'hi');
    assert.deepEqual(out, { kind: 'reply', text: `${p0.ip}:8080 hi` });
    assert.ok(proxied.includes(`inbound ${p0.ip}:8080`), proxied.join(', '));
  });

  it('the unenrolled pod talks to others directly', async () => {
    const before = proxied.length;
    const p0 = c().pod('node0-p0');
    await redirect?.unenrollPod(p0.uid);
    const out = await tcpFromPod(c(), 'node0-p1', p0.ip, 8080, 'direct');
    assert.deepEqual(out, { kind: 'reply', text: `${p0.ip}:8080 direct` });
    assert.equal(proxied.length, before);
  });
});
