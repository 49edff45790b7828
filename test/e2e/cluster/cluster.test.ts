import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ClusterError,
  createCluster,
  destroyClusterFromState,
  findLeftovers,
  hasLeftovers,
  type NetnsCluster,
} from '../../../src/mesh/cluster/index.js';
import { requireRoot, startEchoServer, tcpFromPod, tempStateDir } from '../../support/netns.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/make-cluster.ts', import.meta.url));

/** A running process; a zombie (killed, parent gone, not yet reaped) does not count. */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

describe('netns cluster (e2e)', function () {
  this.timeout(60_000);
  const state = tempStateDir();
  const clusters: NetnsCluster[] = [];

  before(() => requireRoot());

  after(async () => {
    for (const c of clusters) await c.destroy();
    state.remove();
  });

  async function make(nodes: number, podsPerNode: number): Promise<NetnsCluster> {
    const c = await createCluster({ nodes, podsPerNode, stateDir: state.dir });
    clusters.push(c);
    return c;
  }

  describe('two nodes with two pods each', () => {
    let c: NetnsCluster;
    before(async () => {
      c = await make(2, 2);
      await startEchoServer(c, { pod: 'node1-p1' }, 7000);
      await startEchoServer(c, { pod: 'node0-p1' }, 7000);
      await startEchoServer(c, { node: 'node1' }, 7001);
    });

    it('gives every node an underlay address and a pod CIDR, and every pod an address in its node CIDR', () => {
      assert.deepEqual(
        c.nodes.map((n) => [n.name, n.ip, n.podCidr]),
        [
          ['node0', '10.250.0.10', '10.251.0.0/24'],
          ['node1', '10.250.0.11', '10.251.1.0/24'],
        ],
      );
      assert.deepEqual(
        c.pods.map((p) => [p.name, p.node, p.ip]),
        [
          ['node0-p0', 'node0', '10.251.0.2'],
          ['node0-p1', 'node0', '10.251.0.3'],
          ['node1-p0', 'node1', '10.251.1.2'],
          ['node1-p1', 'node1', '10.251.1.3'],
        ],
      );
      assert.equal(new Set(c.pods.map((p) => p.uid)).size, 4);
    });

    const paths = [
      { from: 'node0-p0', to: 'node1-p1', via: 'across nodes' },
      { from: 'node0-p0', to: 'node0-p1', via: 'on the same node' },
      { from: 'node1-p0', to: 'node0-p1', via: 'across nodes the other way' },
    ];
    for (const p of paths) {
      it(`carries TCP from ${p.from} to ${p.to} ${p.via}, arriving at the pod address`, async () => {
        const dst = c.pod(p.to).ip;
        assert.deepEqual(await tcpFromPod(c, p.from, dst, 7000, 'hello'), { kind: 'reply', text: `${dst}:7000 hello` });
      });
    }

    it('carries TCP from a pod to a remote node address', async () => {
      const dst = c.node('node1').ip;
      assert.deepEqual(await tcpFromPod(c, 'node0-p0', dst, 7001, 'n'), { kind: 'reply', text: `${dst}:7001 n` });
    });

    it('refuses a connection to a port nobody listens on', async () => {
      assert.deepEqual(await tcpFromPod(c, 'node0-p0', c.pod('node1-p0').ip, 7000), { kind: 'error', reason: 'ECONNREFUSED' });
    });

    it('starts pod processes in the pod cgroup and node processes in the node cgroup', async () => {
      const pod = await c.execInPod('node1-p0', ['cat', '/proc/self/cgroup']);
      assert.match(pod.stdout, new RegExp(`^0::/${c.prefix}/node1-p0$`, 'm'));
      const node = await c.execInNode('node0', ['cat', '/proc/self/cgroup']);
      assert.match(node.stdout, new RegExp(`^0::/${c.prefix}/node\\.node0$`, 'm'));
    });

    it('gives each pod only lo and eth0, with lo up', async () => {
      const r = await c.execInPod('node0-p0', ['ip', '-j', 'link', 'show']);
      const links = JSON.parse(r.stdout) as { ifname: string; flags: string[] }[];
      assert.deepEqual(links.map((l) => l.ifname), ['lo', 'eth0']);
      assert.ok(links[0]?.flags.includes('UP'));
    });

    it('adds a pod later with the next address of its node, and refuses bad or taken names and unknown nodes', async () => {
      const p = await c.addPod('node1', 'late');
      assert.deepEqual([p.node, p.ip], ['node1', '10.251.1.4']);
      const code = (want: string) => (e: unknown) => e instanceof ClusterError && e.code === want;
      await assert.rejects(c.addPod('node1', 'late'), code('CLUSTER_INVALID_NAME'));
      await assert.rejects(c.addPod('node1', 'Bad_Name'), code('CLUSTER_INVALID_NAME'));
      await assert.rejects(c.addPod('node9', 'x'), code('CLUSTER_NOT_FOUND'));
    });

    it('stops a process by PID', async () => {
      const p = c.spawnInPod('node0-p0', ['sleep', '60']);
      await c.stopProcess(p.pid);
      assert.equal(pidAlive(p.pid), false);
    });
  });

  describe('dual-stack', () => {
    let c: NetnsCluster;
    before(async () => {
      c = await createCluster({ nodes: 2, podsPerNode: 1, stateDir: state.dir, ipv6: true });
      clusters.push(c);
      await startEchoServer(c, { pod: 'node1-p0' }, 7000, '::');
    });

    it('gives pods an IPv6 address from their node /64 besides the IPv4 one', () => {
      assert.deepEqual(
        c.pods.map((p) => p.ips),
        [
          ['10.251.0.2', 'fd61:6d62:6974::2'],
          ['10.251.1.2', 'fd61:6d62:6974:1::2'],
        ],
      );
    });

    it('carries TCP over IPv6 and IPv4 across nodes', async () => {
      const v6 = c.pod('node1-p0').ip6 ?? '';
      assert.deepEqual(await tcpFromPod(c, 'node0-p0', v6, 7000, 'six'), { kind: 'reply', text: `fd61:6d62:6974:1::2:7000 six` });
      const v4 = c.pod('node1-p0').ip;
      assert.deepEqual(await tcpFromPod(c, 'node0-p0', v4, 7000, 'four'), { kind: 'reply', text: `::ffff:${v4}:7000 four` });
    });
  });

  it('tears down everything it made, running processes included', async () => {
    const c = await createCluster({ nodes: 2, podsPerNode: 1, stateDir: state.dir });
    clusters.push(c);
    const p = c.spawnInPod('node0-p0', ['sleep', '300']);
    assert.equal(hasLeftovers(findLeftovers(c.prefix)), true);
    await c.destroy();
    assert.deepEqual(findLeftovers(c.prefix), { netns: [], links: [], cgroups: [] });
    assert.equal(existsSync(c.stateFile), false);
    assert.equal(pidAlive(p.pid), false);
  });

  it('lets two clusters with the same address plan coexist', async () => {
    const a = await make(2, 1);
    const b = await make(2, 1);
    assert.notEqual(a.prefix, b.prefix);
    await startEchoServer(a, { pod: 'node1-p0' }, 7000);
    await startEchoServer(b, { pod: 'node1-p0' }, 7000);
    await b.destroy();
    assert.equal(hasLeftovers(findLeftovers(b.prefix)), false);
    const dst = a.pod('node1-p0').ip;
    assert.deepEqual(await tcpFromPod(a, 'node0-p0', dst, 7000, 'a'), { kind: 'reply', text: `${dst}:7000 a` });
  });

  it('refuses a prefix a running cluster holds, naming its state file, and leaves that cluster whole', async () => {
    const prefix = `a9m-${randomBytes(3).toString('hex')}`;
    const a = await createCluster({ nodes: 1, podsPerNode: 1, prefix, stateDir: state.dir });
    clusters.push(a);
    await startEchoServer(a, { pod: 'node0-p0' }, 7000);
    const other = tempStateDir();
    try {
      await assert.rejects(
        createCluster({ nodes: 1, prefix, stateDir: other.dir }),
        (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_PREFIX_IN_USE' && e.message.includes(a.stateFile) && e.message.includes(`state dir ${state.dir}`),
      );
    } finally {
      other.remove();
    }
    const dst = a.pod('node0-p0').ip;
    assert.deepEqual(await tcpFromPod(a, 'node0-p0', dst, 7000, 'still'), { kind: 'reply', text: `${dst}:7000 still` });
    assert.equal(findLeftovers(prefix).netns.length, 3);
    await a.destroy();
    // Released with the teardown: the prefix can be used again.
    const again = await createCluster({ nodes: 1, prefix, stateDir: state.dir });
    clusters.push(again);
    await again.destroy();
    assert.equal(hasLeftovers(findLeftovers(prefix)), false);
  });

  describe('when the creating process dies', () => {
    const children: ChildProcess[] = [];
    const stateFiles: string[] = [];
    after(() => {
      for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
      for (const f of stateFiles) if (existsSync(f)) destroyClusterFromState(f);
    });

    async function startFixture(): Promise<{ child: ChildProcess; prefix: string; stateFile: string; pid: number }> {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, state.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error('fixture did not report its cluster')), 30_000);
        child.stdout?.on('data', (b: Buffer) => {
          buf += b.toString();
          const nl = buf.indexOf('\n');
          if (nl >= 0) {
            clearTimeout(timer);
            resolve(buf.slice(0, nl));
          }
        });
        child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
      });
      const info = JSON.parse(line) as { prefix: string; stateFile: string; pid: number };
      stateFiles.push(info.stateFile);
      return { child, ...info };
    }

    function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
      return new Promise((r) => child.once('exit', (code, sig) => r(sig ?? code)));
    }

    it('removes a crashed cluster from its state file', async () => {
      const f = await startFixture();
      f.child.kill('SIGKILL');
      await exited(f.child);
      assert.equal(hasLeftovers(findLeftovers(f.prefix)), true);
      assert.equal(pidAlive(f.pid), true);
      destroyClusterFromState(f.stateFile);
      assert.deepEqual(findLeftovers(f.prefix), { netns: [], links: [], cgroups: [] });
      assert.equal(pidAlive(f.pid), false);
      assert.equal(existsSync(f.stateFile), false);
    });

    it('tears down on SIGTERM and still ends the process by that signal', async () => {
      const f = await startFixture();
      f.child.kill('SIGTERM');
      assert.equal(await exited(f.child), 'SIGTERM');
      assert.deepEqual(findLeftovers(f.prefix), { netns: [], links: [], cgroups: [] });
      assert.equal(pidAlive(f.pid), false);
    });
  });
});
