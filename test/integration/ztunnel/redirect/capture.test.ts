/**
 * Capture on a real kernel: a pod (netns + cgroup) wired by a veth to a
 * "peer" namespace that stands for the rest of the network, the agent's
 * in-pod listeners created through the Redirect, and processes run inside
 * the pod's cgroup and netns.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import {
  destroyInstance,
  instancePinDir,
  openRedirect,
  readRedirectStatus,
  type PodEnrollment,
  type Redirect,
} from '../../../../src/ztunnel/redirect/index.js';
import {
  TCP_CLIENT_JS,
  TestWorld,
  ipIn,
  parseClientResult,
  requireCaptureHost,
  type ClientResult,
} from '../../../support/netns-min.js';

const POD_IP = '10.200.0.2';
const POD_IP6 = 'fd77::2';
const PEER_IP = '10.200.0.1';
const PEER_IP_EXCLUDED = '10.200.0.3';
const PEER_IP6 = 'fd77::1';
const POD_B_IP = '10.201.0.2';

function unmap(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Sends "ping" over a connected socket, half-closes, and returns the reply or the error code. */
function exchange(s: net.Socket): Promise<ClientResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, code: 'TIMEOUT' });
    }, 3000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, code: e.code ?? e.message });
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ ok: true, data: Buffer.concat(chunks).toString() });
    });
    s.end('ping');
  });
}

describe('redirect: capture of an enrolled pod on a real kernel', function () {
  this.timeout(30_000);

  const world = new TestWorld();
  const instance = `t${world.id}`;
  const servers: net.Server[] = [];
  let redirect: Redirect | undefined;
  let podA: { name: string; path: string };
  let podB: { name: string; path: string };
  let peer: { name: string; path: string };
  let cgroupA: string;
  let cgroupB: string;
  let agent: { outbound?: net.Server; inbound?: net.Server; hbone?: net.Server } = {};

  function r(): Redirect {
    assert.ok(redirect, 'redirect is open');
    return redirect;
  }

  async function serve(netnsPath: string, address: '::' | '0.0.0.0', port: number, reply: (s: net.Socket) => string) {
    const fd = await r().listenInPod(netnsPath, address, port);
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.end(reply(s));
    });
    await new Promise<void>((resolve) => server.listen({ fd }, resolve));
    servers.push(server);
    return { server, fd };
  }

  async function startAgent(): Promise<number> {
    const outbound = await serve(podA.path, '::', 15001, (s) => {
      const od = r().originalDestination(s, podA.path);
      return od === undefined ? 'outbound none' : `outbound ${hostPort(od.address, od.port)} v${od.family}`;
    });
    const inbound = await serve(podA.path, '::', 15006, (s) => `inbound ${hostPort(unmap(s.localAddress), s.localPort ?? 0)}`);
    const hbone = await serve(podA.path, '::', 15008, () => 'hbone');
    agent = { outbound: outbound.server, inbound: inbound.server, hbone: hbone.server };
    return inbound.fd;
  }

  /** Closes the agent's listeners at once (server.close stops listening immediately). */
  function stopAgent(): void {
    for (const s of [agent.outbound, agent.inbound, agent.hbone]) s?.close();
    agent = {};
  }

  function enrollment(inboundListenerFd: number, extra: Partial<PodEnrollment> = {}): PodEnrollment {
    return {
      uid: `pod-a-${world.id}`,
      cgroupPath: cgroupA,
      netnsPath: podA.path,
      ips: [POD_IP, POD_IP6],
      inboundListenerFd,
      ...extra,
    };
  }

  async function fromPodA(host: string, port: number): Promise<ClientResult> {
    const out = await world.runIn(cgroupA, podA.name, ['node', '-e', TCP_CLIENT_JS, host, String(port)]);
    return parseClientResult(out.stdout, out.stderr);
  }

  async function fromPeer(host: string, port: number): Promise<ClientResult> {
    try {
      return await exchange(await r().connectInPod(peer.path, host, port));
    } catch (err) {
      // The connect's own error (ECONNREFUSED...) is the RedirectError's cause.
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
      return { ok: false, code: cause?.code ?? (err as NodeJS.ErrnoException).code ?? String(err) };
    }
  }

  before(async function () {
    requireCaptureHost();
    podA = world.addNetns('a');
    podB = world.addNetns('b');
    peer = world.addNetns('peer');
    cgroupA = world.addCgroup('pod-a');
    cgroupB = world.addCgroup('pod-b');
    const vethPod = `va${world.id}`;
    const vethPeer = `vp${world.id}`;
    ipIn(podA.name, 'link', 'add', vethPod, 'type', 'veth', 'peer', 'name', vethPeer, 'netns', peer.name);
    ipIn(podA.name, 'addr', 'add', `${POD_IP}/24`, 'dev', vethPod);
    ipIn(podA.name, 'addr', 'add', `${POD_IP6}/64`, 'dev', vethPod, 'nodad');
    ipIn(podA.name, 'link', 'set', vethPod, 'up');
    ipIn(peer.name, 'addr', 'add', `${PEER_IP}/24`, 'dev', vethPeer);
    ipIn(peer.name, 'addr', 'add', `${PEER_IP_EXCLUDED}/24`, 'dev', vethPeer);
    ipIn(peer.name, 'addr', 'add', `${PEER_IP6}/64`, 'dev', vethPeer, 'nodad');
    ipIn(peer.name, 'link', 'set', vethPeer, 'up');
    ipIn(podB.name, 'link', 'add', `vb${world.id}`, 'type', 'veth', 'peer', 'name', `wb${world.id}`);
    ipIn(podB.name, 'addr', 'add', `${POD_B_IP}/24`, 'dev', `vb${world.id}`);
    ipIn(podB.name, 'link', 'set', `vb${world.id}`, 'up');

    redirect = await openRedirect({ instance });
    // The rest of the network, the app in pod A, and the app in pod B.
    const peerReply = (s: net.Socket) => `peer ${hostPort(unmap(s.localAddress), s.localPort ?? 0)}`;
    await serve(peer.path, '::', 9000, peerReply);
    await serve(peer.path, '::', 9001, peerReply);
    const appReply = (s: net.Socket) => `app ${hostPort(unmap(s.localAddress), s.localPort ?? 0)}`;
    await serve(podA.path, '::', 8080, appReply);
    await serve(podA.path, '::', 9001, appReply);
    await serve(podB.path, '0.0.0.0', 9000, () => 'pod-b');
  });

  after(async function () {
    for (const s of servers) s.close();
    redirect?.close();
    await destroyInstance(instance);
    await world.remove();
  });

  it('before enrollment, a connect from the pod reaches its destination directly', async () => {
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `peer ${PEER_IP}:9000` });
  });

  it('after enrollment, an IPv4 connect lands on the in-pod 15001 listener with the exact original destination', async () => {
    const inboundFd = await startAgent();
    await r().enrollPod(enrollment(inboundFd));
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `outbound ${PEER_IP}:9000 v4` });
    assert.deepEqual(await fromPodA('203.0.113.7', 443), { ok: true, data: 'outbound 203.0.113.7:443 v4' });
  });

  it('an IPv6 connect lands on 15001 with the exact original destination', async () => {
    assert.deepEqual(await fromPodA(PEER_IP6, 9000), { ok: true, data: `outbound [${PEER_IP6}]:9000 v6` });
  });

  it('an incoming connection to port 8080 lands on the 15006 listener with the original destination as local address', async () => {
    assert.deepEqual(await fromPeer(POD_IP, 8080), { ok: true, data: `inbound ${POD_IP}:8080` });
    assert.deepEqual(await fromPeer(POD_IP6, 8080), { ok: true, data: `inbound [${POD_IP6}]:8080` });
  });

  it('an incoming connection to port 15008 reaches the agent HBONE listener', async () => {
    assert.deepEqual(await fromPeer(POD_IP, 15008), { ok: true, data: 'hbone' });
  });

  it('connections over lo reach the app directly', async () => {
    // The agent reaching the app over lo with the pod IP (sk_lookup lets lo through)...
    assert.deepEqual(await exchange(await r().connectInPod(podA.path, POD_IP, 8080)), {
      ok: true,
      data: `app ${POD_IP}:8080`,
    });
    // ...and the app talking to itself on 127.0.0.1 (connect4 leaves loopback alone).
    assert.deepEqual(await fromPodA('127.0.0.1', 8080), { ok: true, data: 'app 127.0.0.1:8080' });
  });

  it("the agent's own sockets in the pod netns are never redirected", async () => {
    assert.deepEqual(await exchange(await r().connectInPod(podA.path, PEER_IP, 9000)), {
      ok: true,
      data: `peer ${PEER_IP}:9000`,
    });
  });

  it('a pod that is not enrolled is untouched', async () => {
    const out = await world.runIn(cgroupB, podB.name, ['node', '-e', TCP_CLIENT_JS, POD_B_IP, '9000']);
    assert.deepEqual(parseClientResult(out.stdout, out.stderr), { ok: true, data: 'pod-b' });
  });

  it('excluded ports and CIDRs pass, outbound and inbound', async () => {
    const inboundFd = agentInboundFd();
    await r().enrollPod(enrollment(inboundFd, { excludedPorts: [9001], excludedCidrs: [`${PEER_IP_EXCLUDED}/32`] }));
    assert.deepEqual(await fromPodA(PEER_IP, 9001), { ok: true, data: `peer ${PEER_IP}:9001` });
    assert.deepEqual(await fromPodA(PEER_IP_EXCLUDED, 9000), { ok: true, data: `peer ${PEER_IP_EXCLUDED}:9000` });
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `outbound ${PEER_IP}:9000 v4` });
    assert.deepEqual(await fromPeer(POD_IP, 9001), { ok: true, data: `app ${POD_IP}:9001` });
    const pod = r().enrolledPods()[0];
    assert.deepEqual(pod?.excludedPorts, [9001]);
    assert.deepEqual(pod?.excludedCidrs, [`${PEER_IP_EXCLUDED}/32`]);
  });

  it('re-enrolling is idempotent: the same links, one attachment per hook', async () => {
    const pinDir = instancePinDir(instance);
    const uid = `pod-a-${world.id}`;
    const before = linkIds(pinDir, uid);
    await r().enrollPod(enrollment(agentInboundFd(), { excludedPorts: [9001], excludedCidrs: [`${PEER_IP_EXCLUDED}/32`] }));
    await r().enrollPod(enrollment(agentInboundFd(), { excludedPorts: [9001], excludedCidrs: [`${PEER_IP_EXCLUDED}/32`] }));
    assert.deepEqual(linkIds(pinDir, uid), before);
    const cgroupId = fs.statSync(cgroupA).ino;
    const netnsIno = fs.statSync(podA.path).ino;
    const links = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
      id: number;
      cgroup_id?: number;
      netns_ino?: number;
      attach_type?: string;
    }[];
    const onCgroup = links.filter((l) => l.cgroup_id === cgroupId).map((l) => l.attach_type).sort();
    assert.deepEqual(onCgroup, ['cgroup_inet4_connect', 'cgroup_inet6_connect', 'cgroup_sock_ops']);
    assert.equal(links.filter((l) => l.netns_ino === netnsIno).length, 1);
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `outbound ${PEER_IP}:9000 v4` });
  });

  it('re-enrolling with another cgroup moves the cgroup links to it', async () => {
    const other = world.addCgroup('pod-a-moved');
    await r().enrollPod(enrollment(agentInboundFd(), { cgroupPath: other }));
    const out = await world.runIn(other, podA.name, ['node', '-e', TCP_CLIENT_JS, PEER_IP, '9000']);
    assert.deepEqual(parseClientResult(out.stdout, out.stderr), { ok: true, data: `outbound ${PEER_IP}:9000 v4` });
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `peer ${PEER_IP}:9000` });
    await r().enrollPod(enrollment(agentInboundFd(), { excludedPorts: [9001], excludedCidrs: [`${PEER_IP_EXCLUDED}/32`] }));
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `outbound ${PEER_IP}:9000 v4` });
  });

  it('counts decisions by reason and reports the pod from the pins', () => {
    const status = readRedirectStatus({ instance });
    assert.equal(status.pinned, true);
    assert.deepEqual(status.programs, ['ambit_connect4', 'ambit_connect6', 'ambit_sk_lookup', 'ambit_sockops']);
    const [pod] = status.pods;
    assert.equal(pod?.uid, `pod-a-${world.id}`);
    assert.deepEqual(pod?.ips, [POD_IP, POD_IP6].sort());
    assert.deepEqual(pod?.links, ['connect4', 'connect6', 'sockops', 'sk_lookup']);
    assert.equal(pod?.inboundListener, true);
    const c = status.counters;
    assert.ok(c.connectRedirected >= 5, `connectRedirected ${c.connectRedirected}`);
    assert.ok(c.sockopsRecorded >= 5, `sockopsRecorded ${c.sockopsRecorded}`);
    assert.ok(c.connectPassLoopback >= 1, `connectPassLoopback ${c.connectPassLoopback}`);
    assert.ok(c.connectPassExcludedPort >= 1 && c.connectPassExcludedCidr >= 1);
    assert.ok(c.lookupAssigned >= 2 && c.lookupPassHbone >= 1 && c.lookupPassLoopback >= 1);
    assert.ok(c.lookupPassExcludedPort >= 1);
    assert.equal(c.lookupDropNoListener, 0);
  });

  it('with the agent down capture fails closed, and reopening from the pins restores it', async () => {
    stopAgent();
    r().close();
    redirect = undefined;
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: false, code: 'ECONNREFUSED' });
    redirect = await openRedirect({ instance });
    assert.deepEqual(await fromPeer(POD_IP, 8080), { ok: false, code: 'ECONNREFUSED' });
    assert.ok(readRedirectStatus({ instance }).counters.lookupDropNoListener >= 1);
    assert.equal(r().enrolledPods()[0]?.inboundListener, false);

    const inboundFd = await startAgent();
    await r().enrollPod(enrollment(inboundFd));
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `outbound ${PEER_IP}:9000 v4` });
    assert.deepEqual(await fromPeer(POD_IP, 8080), { ok: true, data: `inbound ${POD_IP}:8080` });
  });

  it('unenrolling restores direct traffic and removes the pod from the pins', async () => {
    await r().unenrollPod(`pod-a-${world.id}`);
    assert.deepEqual(await fromPodA(PEER_IP, 9000), { ok: true, data: `peer ${PEER_IP}:9000` });
    assert.deepEqual(await fromPeer(POD_IP, 8080), { ok: true, data: `app ${POD_IP}:8080` });
    assert.deepEqual(r().enrolledPods(), []);
    assert.equal(fs.existsSync(`${instancePinDir(instance)}/links/pod-a-${world.id}`), false);
    await r().unenrollPod(`pod-a-${world.id}`);
  });

  function agentInboundFd(): number {
    const address = agent.inbound?.address();
    assert.ok(address !== null && address !== undefined, 'agent inbound listener is up');
    // The fd-backed server keeps its handle's fd; the Redirect needs it again to refresh the sockhash.
    const fd = (agent.inbound as unknown as { _handle?: { fd?: number } })._handle?.fd;
    assert.ok(typeof fd === 'number' && fd >= 0);
    return fd;
  }
});

function linkIds(pinDir: string, uid: string): number[] {
  return ['connect4', 'connect6', 'sockops', 'sk_lookup'].map((t) => {
    const out = execFileSync('bpftool', ['-j', 'link', 'show', 'pinned', `${pinDir}/links/${uid}/${t}`], {
      encoding: 'utf8',
    });
    return (JSON.parse(out) as { id: number }).id;
  });
}
