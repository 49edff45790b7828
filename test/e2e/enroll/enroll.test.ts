/**
 * Enrollment on a real kernel: a netns cluster, the eBPF redirect module,
 * and an agent (this test process, in the host's namespace and cgroup, so
 * its own sockets are never captured) driven through the enrollment socket
 * by the `ambit cni` plugin and by the client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCluster, type ClusterPod, type NetnsCluster } from '../../../src/mesh/cluster/index.js';
import {
  EnrollmentClient,
  EnrollmentServer,
  EnrollRejectedError,
  redirectPodCapture,
  type PodInfo,
  type PodListeners,
} from '../../../src/ztunnel/enroll/index.js';
import { destroyInstance, openRedirect, type Redirect } from '../../../src/ztunnel/redirect/index.js';
import { requireRoot, startEchoServer, tcpFromPod, tempStateDir } from '../../support/netns.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function unmap(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

function podInfo(p: ClusterPod): PodInfo {
  return { uid: p.uid, name: p.name, namespace: p.namespace, netnsPath: p.netnsPath, cgroupPath: p.cgroup, ips: p.ips };
}

/** Runs `ambit cni` as a container runtime would. */
function cni(command: string, pod: ClusterPod, socketPath: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'cni'], {
      env: {
        PATH: process.env.PATH ?? '',
        CNI_COMMAND: command,
        CNI_CONTAINERID: `sandbox-${pod.name}`,
        CNI_NETNS: pod.netnsPath,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: `K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_UID=${pod.uid};AMBIT_CGROUP_PATH=${pod.cgroup}`,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
    child.stdin.end(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'ambit-e2e',
        type: 'ambit-cni',
        agentSocket: socketPath,
        prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: pod.ips.map((ip) => ({ address: ip.includes(':') ? `${ip}/128` : `${ip}/32`, interface: 0 })) },
      }),
    );
  });
}

describe('pod enrollment with eBPF capture in a netns cluster (e2e)', function () {
  this.timeout(60_000);
  const state = tempStateDir();
  const dir = mkdtempSync(join(tmpdir(), 'ambit-enroll-e2e-'));
  const socketPath = join(dir, 'ztunnel.sock');
  const recordsFile = join(dir, 'pods.json');
  const instance = `e2e-enroll-${randomBytes(3).toString('hex')}`;
  let cluster: NetnsCluster | undefined;
  let redirect: Redirect | undefined;
  let agent: EnrollmentServer | undefined;
  let client: ClusterPod;
  let server: ClusterPod;

  /** An agent that answers on the in-pod listeners with what it saw. */
  async function startAgent(): Promise<EnrollmentServer> {
    redirect = await openRedirect({ instance });
    const r = redirect;
    const a = new EnrollmentServer({ capture: redirectPodCapture(r), socketPath, recordsFile });
    a.on('podAdded', (_pod, l: PodListeners) => {
      for (const s of l.outbound) {
        s.on('connection', (c: net.Socket) => {
          const dst = r.originalDestination(c, _pod.info.netnsPath);
          c.on('error', () => undefined);
          c.resume();
          c.end(`outbound ${dst === undefined ? 'unknown' : `${dst.address}:${dst.port}`}`);
        });
      }
      l.inboundPlaintext.on('connection', (c: net.Socket) => {
        c.on('error', () => undefined);
        c.resume();
        c.end(`inbound ${unmap(c.localAddress)}:${c.localPort}`);
      });
    });
    await a.start();
    agent = a;
    return a;
  }

  async function stopAgent(): Promise<void> {
    await agent?.close();
    agent = undefined;
    redirect?.close();
    redirect = undefined;
  }

  async function withClient<T>(fn: (c: EnrollmentClient) => Promise<T>): Promise<T> {
    const c = await EnrollmentClient.connect({ socketPath });
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  before(async () => {
    requireRoot();
    cluster = await createCluster({ nodes: 1, podsPerNode: 2, stateDir: state.dir, ipv6: true });
    client = cluster.pod('node0-p0');
    server = cluster.pod('node0-p1');
    await startEchoServer(cluster, { pod: server.name }, 7000, '::');
    await startAgent();
  });

  after(async () => {
    try {
      await stopAgent();
      await destroyInstance(instance);
    } finally {
      await cluster?.destroy();
      state.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const direct = (): string => `::ffff:${server.ip}:7000 hi`;

  it('reaches the server pod directly before enrollment', async () => {
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), { kind: 'reply', text: direct() });
  });

  it('after a CNI ADD, lands the pod’s connect() on the agent’s 15001 listener with the original destination', async () => {
    const add = await cni('ADD', client, socketPath);
    assert.equal(add.code, 0, add.stdout);
    const enrolled = agent?.registry.findByUid(client.uid);
    assert.equal(enrolled?.info.name, client.name);
    assert.deepEqual(enrolled?.info.ips, client.ips);
    // 15001 on 127.0.0.1 and ::1: the pod has IPv6.
    assert.equal(enrolled?.listeners.outbound.length, 2);
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), {
      kind: 'reply',
      text: `outbound ${server.ip}:7000`,
    });
  });

  it('captures an IPv6 connect() as well', async () => {
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip6 ?? '', 7000, 'hi'), {
      kind: 'reply',
      text: `outbound ${server.ip6}:7000`,
    });
  });

  it('assigns inbound connections of an enrolled pod to the agent’s 15006 listener, keeping the original destination', async () => {
    await withClient(async (c) => {
      await c.delPod(client.uid);
      await c.addPod(podInfo(server));
    });
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), {
      kind: 'reply',
      text: `inbound ${server.ip}:7000`,
    });
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip6 ?? '', 7000, 'hi'), {
      kind: 'reply',
      text: `inbound ${server.ip6}:7000`,
    });
  });

  it('after a CNI DEL, restores direct traffic', async () => {
    const del = await cni('DEL', server, socketPath);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), { kind: 'reply', text: direct() });
  });

  it('refuses the cgroup v2 root, which the default pod cgroup root admits, and captures nothing', async () => {
    await assert.rejects(
      withClient((c) => c.addPod({ ...podInfo(client), cgroupPath: '/sys/fs/cgroup/unified' })),
      (e: unknown) => e instanceof EnrollRejectedError && e.remoteCode === 'ENROLL_CAPTURE_FAILED' && e.message.includes('not a non-root cgroup v2 directory'),
    );
    assert.deepEqual(redirect?.enrolledPods(), []);
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), { kind: 'reply', text: direct() });
  });

  it('keeps the pod captured while the agent is down (fail closed) and serves it again after a restart', async () => {
    await withClient((c) => c.addPod(podInfo(client)));
    await stopAgent();
    const down = await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi', 2_000);
    assert.equal(down.kind, 'error', JSON.stringify(down));
    const restarted = await startAgent();
    assert.deepEqual(restarted.registry.list().map((p) => [p.info.uid, p.adopted]), [[client.uid, true]]);
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), {
      kind: 'reply',
      text: `outbound ${server.ip}:7000`,
    });
  });

  it('removes pods missing from a snapshot, restoring direct traffic', async () => {
    await withClient((c) => c.snapshot([]));
    assert.equal(agent?.registry.size, 0);
    assert.deepEqual(redirect?.enrolledPods(), []);
    assert.deepEqual(await tcpFromPod(cluster!, client.name, server.ip, 7000, 'hi'), { kind: 'reply', text: direct() });
  });
});
