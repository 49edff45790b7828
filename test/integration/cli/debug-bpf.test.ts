import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMeshState } from '../../../src/cli/targets/mesh-state.js';
import { destroyInstance, openRedirect, type Redirect } from '../../../src/ztunnel/redirect/index.js';
import { CliRunner, type CliResult } from '../../support/cli.js';
import { requireCaptureHost, TestWorld } from '../../support/netns-min.js';

const RUN_TIMEOUT_MS = 15_000;

interface PodJson {
  uid: string;
  ips: string[];
  netnsCookie: string;
  cgroupId: string;
  inboundListener: boolean;
  links: string[];
  excludedPorts: number[];
}

function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));
}

describe('ambit bpf (CLI against a pinned instance)', function () {
  this.timeout(60_000);
  const cli = new CliRunner();
  const world = new TestWorld();
  const instance = `cli-test-${randomBytes(4).toString('hex')}`;
  const uid = `pod-${world.id}`;
  let redirect: Redirect | undefined;
  let inbound: net.Server | undefined;

  before(async () => {
    requireCaptureHost();
    redirect = await openRedirect({ instance });
    const pod = world.addNetns('pod');
    const cgroup = world.addCgroup('pod');
    const fd = await redirect.listenInPod(pod.path, '::', 15006);
    inbound = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => inbound?.listen({ fd }, resolve));
    await redirect.enrollPod({
      uid,
      cgroupPath: cgroup,
      netnsPath: pod.path,
      ips: ['10.123.0.2', 'fd00:123::2'],
      inboundListenerFd: fd,
      excludedPorts: [22],
    });
  });

  afterEach(() => {
    cli.killAll();
  });

  after(async () => {
    inbound?.close();
    redirect?.close();
    await destroyInstance(instance);
    await world.remove();
  });

  function ambit(...args: string[]): Promise<CliResult> {
    return cli.run(args, { timeoutMs: RUN_TIMEOUT_MS });
  }

  it('status lists the instance, its programs and maps, the pod count and every counter', async () => {
    const run = await ambit('bpf', 'status', '--instance', instance);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`^Instance: +${instance}\nPin dir: +/sys/fs/bpf/ambit/${instance}\n`),
    );
    assert.match(run.stdout, /\nPrograms: +ambit_connect4,ambit_connect6,ambit_sk_lookup,ambit_sockops\n/);
    assert.match(run.stdout, /\nMaps: +pods,pod_addrs,listeners,cookie_dst,tuple_dst,counters\n/);
    assert.match(run.stdout, /\nEnrolled pods: +1\nInbound listeners: +1\n/);
    assert.match(run.stdout, /\nCOUNTER +VALUE\nconnectRedirected +\d+\n/);
  });

  it('pods shows the enrolled pod with its IPs, ids, listener and links', async () => {
    const run = await ambit('bpf', 'pods', '--instance', instance);
    assert.equal(run.code, 0, run.stderr);
    const [header, row] = rows(run.stdout);
    assert.deepEqual(header, [
      'UID',
      'IPS',
      'NETNS COOKIE',
      'CGROUP ID',
      'INBOUND LISTENER',
      'LINKS',
      'EXCLUDED PORTS',
      'EXCLUDED CIDRS',
    ]);
    assert.equal(row?.[0], uid);
    assert.equal(row?.[1], '10.123.0.2,fd00:123::2');
    assert.match(row?.[2] ?? '', /^[1-9]\d*$/);
    assert.match(row?.[3] ?? '', /^[1-9]\d*$/);
    assert.equal(row?.[4], 'yes');
    assert.deepEqual(row?.[5]?.split(',').sort(), ['connect4', 'connect6', 'sk_lookup', 'sockops']);
    assert.deepEqual(row?.slice(6), ['22', '-']);
  });

  it('pods -o json agrees with the table, ids as decimal strings', async () => {
    const run = await ambit('bpf', 'pods', '--instance', instance, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const pods = JSON.parse(run.stdout) as PodJson[];
    assert.equal(pods.length, 1);
    assert.equal(pods[0]?.uid, uid);
    assert.deepEqual(pods[0]?.ips, ['10.123.0.2', 'fd00:123::2']);
    assert.equal(pods[0]?.inboundListener, true);
    assert.equal(pods[0]?.netnsCookie, redirect?.enrolledPods()[0]?.netnsCookie.toString());
    assert.deepEqual(pods[0]?.excludedPorts, [22]);
  });

  it('maps counts one pods entry, one pod_addrs entry per IP and one listener', async () => {
    const run = await ambit('bpf', 'maps', '--instance', instance);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(rows(run.stdout), [
      ['MAP', 'ENTRIES'],
      ['pods', '1'],
      ['pod_addrs', '2'],
      ['listeners', '1'],
      ['cookie_dst', '-'],
      ['tuple_dst', '-'],
      ['counters', '16'],
    ]);
  });

  it('status -o json carries the pinned flag, the pod and the counters', async () => {
    const run = await ambit('bpf', 'status', '--instance', instance, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as {
      pinned: boolean;
      pods: PodJson[];
      counters: Record<string, number>;
    };
    assert.equal(status.pinned, true);
    assert.equal(status.pods[0]?.uid, uid);
    assert.equal(typeof status.counters.connectRedirected, 'number');
  });

  it("--node reads the node agent's instance from the mesh state", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ambit-bpf-state-'));
    try {
      writeMeshState(dir, {
        nodes: [
          { name: 'node-a', adminAddress: '127.0.0.1:15000', istiodMonitoring: '127.0.0.1:15014', instance },
        ],
      });
      const run = await ambit('bpf', 'pods', '--node', 'node-a', '--state-dir', dir);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(rows(run.stdout)[1]?.[0], uid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing instance: exit 1 with where it looked and how the state gets there', async () => {
    const missing = `cli-missing-${randomBytes(4).toString('hex')}`;
    const run = await ambit('bpf', 'status', '--instance', missing);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `ambit: no ambit BPF state pinned at /sys/fs/bpf/ambit/${missing}; is \`ambit ztunnel\` running with --instance ${missing}?\n`,
    );
  });

  it('--bpffs-root that holds no state: exit 1 naming that root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ambit-bpffs-'));
    try {
      const run = await ambit('bpf', 'pods', '--instance', instance, '--bpffs-root', dir);
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`no ambit BPF state pinned at ${dir}/ambit/${instance};`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const usage = [
    {
      name: 'an instance name with a slash',
      args: ['bpf', 'status', '--instance', 'a/b'],
      stderr: /--instance: instance "a\/b" must be/,
    },
    {
      name: '--node with --instance',
      args: ['bpf', 'status', '--node', 'a', '--instance', 'b'],
      stderr: /cannot be used with option '--node/,
    },
    { name: 'an unknown view', args: ['bpf', 'programs'], stderr: /unknown command 'programs'/ },
    {
      name: 'yaml output (not offered)',
      args: ['bpf', 'maps', '-o', 'yaml'],
      stderr: /argument 'yaml' is invalid/,
    },
  ];
  for (const c of usage) {
    it(`${c.name}: exit 2`, async () => {
      const run = await ambit(...c.args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, c.stderr);
    });
  }

  it('--help exits 0 and lists the views', async () => {
    const run = await ambit('bpf', '--help');
    assert.equal(run.code, 0);
    for (const v of ['status', 'pods', 'maps']) assert.match(run.stdout, new RegExp(`\\n  ${v} `));
  });

  // Last: it stops the stand-in agent.
  it('still reads the pins once the agent is gone: the pod stays enrolled, its inbound listener is no longer there', async () => {
    await new Promise<void>((resolve) =>
      inbound === undefined ? resolve() : inbound.close(() => resolve()),
    );
    inbound = undefined;
    redirect?.close();
    redirect = undefined;
    // The kernel drops a closed socket from the sockhash on its own; give it a bounded moment.
    let row: string[] | undefined;
    for (let i = 0; i < 20; i++) {
      const run = await ambit('bpf', 'pods', '--instance', instance);
      assert.equal(run.code, 0, run.stderr);
      row = rows(run.stdout)[1];
      if (row?.[4] === 'no') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(row?.[0], uid);
    assert.equal(row?.[4], 'no');
    assert.equal(row?.[5]?.split(',').length, 4);
  });
});
