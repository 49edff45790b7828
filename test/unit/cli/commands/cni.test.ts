import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPodCgroup, parseCniArgs, prevResultIps } from '../../../../src/cli/commands/cni.js';
import { EnrollmentServer } from '../../../../src/ztunnel/enroll/index.js';
import { CliRunner, type CliResult } from '../../../support/cli.js';
import { FakePodCapture } from '../../ztunnel/enroll/fake-pod-capture.js';

const cli = new CliRunner();

/** Runs `ambit cni` with only PATH and `env` in its environment and `stdin` as its input. */
function ambitCni(env: Record<string, string>, stdin: string): Promise<CliResult> {
  return cli.run(['cni'], { env: { PATH: process.env.PATH ?? '', ...env }, input: stdin, timeoutMs: 15_000 });
}

describe('ambit cni', function () {
  this.timeout(30_000);
  let dir: string;
  let socket: string;
  let netns: string;
  let fake: FakePodCapture;
  let server: EnrollmentServer;

  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
    ips: [{ address: '10.251.0.7/24', gateway: '10.251.0.1', interface: 0 }],
  };
  const uid = '0b1d9e2a-1111-4222-8333-444455556666';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-cni-test-'));
    socket = join(dir, 'ztunnel.sock');
    netns = join(dir, 'netns');
    writeFileSync(netns, '');
    mkdirSync(join(dir, 'cg', 'kubepods', 'besteffort', `pod${uid}`), { recursive: true });
    fake = new FakePodCapture();
    server = new EnrollmentServer({ capture: fake, socketPath: socket, recordsFile: null, limits: { podCgroupRoot: join(dir, 'cg') } });
    await server.start();
  });

  after(async () => {
    cli.killAll();
    await server.close();
    await fake.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function env(command: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'c0ffee',
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-0;K8S_POD_UID=${uid}`,
      ...extra,
    };
  }

  const config = (extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'ambit-cni', agentSocket: socket, cgroupRoot: join(dir, 'cg'), prevResult, ...extra });

  it('VERSION prints the supported spec versions', async () => {
    const r = await ambitCni({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  });

  it('ADD enrolls the pod with its netns, cgroup (found by UID) and prevResult IPs, and passes prevResult through', async () => {
    const r = await ambitCni(env('ADD'), config());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), prevResult);
    const p = server.registry.findByUid(uid);
    assert.deepEqual(p?.info, {
      uid,
      name: 'cart-0',
      namespace: 'shop',
      netnsPath: netns,
      cgroupPath: join(dir, 'cg', 'kubepods', 'besteffort', `pod${uid}`),
      ips: ['10.251.0.7'],
    });
  });

  it('CHECK succeeds for the enrolled pod', async () => {
    const r = await ambitCni(env('CHECK'), config());
    assert.deepEqual([r.code, r.stdout], [0, '']);
  });

  it('DEL removes the pod and CHECK then fails with the agent rejection code', async () => {
    const del = await ambitCni(env('DEL'), config());
    assert.deepEqual([del.code, del.stdout], [0, '']);
    assert.equal(server.registry.findByUid(uid), undefined);
    const check = await ambitCni(env('CHECK'), config());
    assert.equal(check.code, 1);
    assert.equal((JSON.parse(check.stdout) as { code: number }).code, 100);
  });

  it('ADD with an unreachable agent fails closed with a CNI error object and exit 1', async () => {
    const r = await ambitCni(env('ADD'), config({ agentSocket: join(dir, 'gone.sock') }));
    assert.equal(r.code, 1);
    const e = JSON.parse(r.stdout) as { cniVersion: string; code: number; msg: string; details: string };
    assert.equal(e.cniVersion, '1.0.0');
    assert.equal(e.code, 11);
    assert.match(e.msg, /not reachable/);
    assert.match(e.details, /gone\.sock/);
  });

  it('DEL with an unreachable agent succeeds', async () => {
    const r = await ambitCni(env('DEL'), config({ agentSocket: join(dir, 'gone.sock') }));
    assert.deepEqual([r.code, r.stdout], [0, '']);
  });

  it('ADD without CNI_NETNS, or with an unsupported cniVersion, reports the spec error code', async () => {
    const noNetns = await ambitCni(env('ADD', { CNI_NETNS: '' }), config());
    assert.deepEqual([noNetns.code, (JSON.parse(noNetns.stdout) as { code: number }).code], [1, 4]);
    const badVersion = await ambitCni(env('ADD'), config({ cniVersion: '9.9.9' }));
    assert.deepEqual([badVersion.code, (JSON.parse(badVersion.stdout) as { code: number }).code], [1, 1]);
  });

  describe('helpers', () => {
    it('splits CNI_ARGS into keys and values', () => {
      assert.deepEqual([...parseCniArgs('A=1;B=x=y;IgnoreUnknown=1')], [['A', '1'], ['B', 'x=y'], ['IgnoreUnknown', '1']]);
    });

    it('takes addresses from prevResult without their prefix length', () => {
      assert.deepEqual(prevResultIps({ ips: [{ address: '10.0.0.2/24' }, { address: 'fd00::2/64' }, { gateway: 'x' }] }), ['10.0.0.2', 'fd00::2']);
      assert.deepEqual(prevResultIps(undefined), []);
    });

    it('finds a systemd-style pod cgroup whose name has the UID with underscores', () => {
      const u = 'aaaa-bbbb';
      const path = join(dir, 'sd', 'kubepods.slice', `kubepods-pod${u.replaceAll('-', '_')}.slice`);
      mkdirSync(path, { recursive: true });
      assert.equal(findPodCgroup(join(dir, 'sd'), u), path);
      assert.equal(findPodCgroup(join(dir, 'sd'), 'cccc'), undefined);
    });
  });
});
