/**
 * `ambit mesh` as a user drives it, through the built CLI: up (twice),
 * status, exec, apply (valid and invalid), delete, the debug commands
 * against the running mesh, and down leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { findLeftovers } from '../../../src/mesh/cluster/index.js';
import { isAlive, readMeshState, type MeshState } from '../../../src/mesh/state.js';
import { meshDown, meshUp } from '../../../src/mesh/local-mesh.js';
import { runAmbit } from '../../support/workloads.js';
import { DEMO_APP, eventually, requireBuild } from '../../support/mesh.js';


const ambit = (args: readonly string[], timeoutMs = 120_000, input?: string): ReturnType<typeof runAmbit> => runAmbit(args, timeoutMs, input);

describe('e2e: ambit mesh up/status/exec/apply/down and the debug CLI against it', function () {
  this.timeout(240_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'ambit-e2e-cli-'));
  const prefix = `ambit-cli-${randomBytes(3).toString('hex')}`;
  const sd = ['--state-dir', stateDir];
  let state: MeshState;
  let frontend: string;

  before(async () => {
    requireBuild();
    const up = await ambit(['mesh', 'up', '--nodes', '2', '--demo', 'frontend-backend', '--prefix', prefix, ...sd]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /==> building the netns cluster/);
    assert.match(up.stdout, /try next:/);
    state = readMeshState(stateDir)!;
    frontend = state.pods.find((p) => p.app === 'frontend')!.name;
  });

  after(async () => {
    // Whatever happened above, nothing stays: down is idempotent.
    await meshDown(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('reports an existing mesh on a second up and changes nothing', async () => {
    const again = await ambit(['mesh', 'up', ...sd]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already runs/);
    assert.deepEqual(readMeshState(stateDir), state);
  });

  it('shows nodes, pods, agents and their certificates in status (table and json)', async () => {
    const table = await ambit(['mesh', 'status', ...sd]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /NODE\s+AGENT PID\s+READY\s+XDS/);
    assert.match(table.stdout, /node0\s+\d+\s+ready\s+connected/);
    assert.match(table.stdout, /spiffe:\/\/cluster\.local\/ns\/demo\/sa\/frontend/);
    const json = JSON.parse((await ambit(['mesh', 'status', '-o', 'json', ...sd])).stdout) as {
      agents: { node: string; ready: string; certificates: { identity: string; state: string }[] }[];
      pods: unknown[];
    };
    assert.equal(json.pods.length, 3);
    assert.deepEqual(json.agents.map((a) => a.ready), ['ready', 'ready']);
    const ids = json.agents.flatMap((a) => a.certificates.filter((c) => c.state === 'Available').map((c) => c.identity)).sort();
    assert.deepEqual(ids, ['spiffe://cluster.local/ns/demo/sa/backend', 'spiffe://cluster.local/ns/demo/sa/frontend']);
  });

  it('runs curl inside the frontend pod: frontend -> backend by service name', async () => {
    const r = await ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://frontend']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${frontend} -> 200 hello from backend-`));
  });

  it('refuses invalid config with the validator errors and applies a DENY that takes effect, then deletes it', async () => {
    const before = readdirSync(state.configDir).sort();
    const bad = await ambit(['mesh', 'apply', ...sd, '-f', 'test/fixtures/mesh/invalid-policy.yaml']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /refused, nothing changed/);
    assert.match(bad.stderr, /spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]/);
    assert.deepEqual(readdirSync(state.configDir).sort(), before);

    const apply = await ambit(['mesh', 'apply', ...sd, '-f', 'examples/policies/deny-frontend.yaml']);
    assert.equal(apply.code, 0, apply.stderr);
    assert.equal(apply.stdout, `authorizationpolicy demo/deny-frontend created from ${join(process.cwd(), 'examples/policies/deny-frontend.yaml')}\n`);
    const curl = () => ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://backend']);
    await eventually(async () => (await curl()).code !== 0, 'the DENY blocks the frontend');
    const del = await ambit(['mesh', 'delete', ...sd, '-f', 'examples/policies/deny-frontend.yaml']);
    assert.equal(del.code, 0);
    await eventually(async () => (await curl()).code === 0, 'deleting the DENY restores traffic');
  });

  it('keeps two policy.yaml from different folders apart, deletes only the one named, and fails on what was never applied', async () => {
    const folders = mkdtempSync(join(tmpdir(), 'a9m-apply-'));
    try {
      const deny = readFileSync('examples/policies/deny-frontend.yaml', 'utf8');
      // A harmless second policy in a file of the same name: it selects no workload.
      const other = deny.replace('name: deny-frontend', 'name: deny-nobody').replace('app: backend', 'app: nobody');
      for (const [d, text] of [['a', deny], ['b', other]] as const) {
        mkdirSync(join(folders, d));
        writeFileSync(join(folders, d, 'policy.yaml'), text);
      }
      for (const d of ['a', 'b']) assert.equal((await ambit(['mesh', 'apply', ...sd, '-f', join(folders, d, 'policy.yaml')])).code, 0);
      const curl = () => ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://backend']);
      await eventually(async () => (await curl()).code !== 0, 'the DENY from a/policy.yaml blocks the frontend');
      const delB = await ambit(['mesh', 'delete', ...sd, '-f', join(folders, 'b', 'policy.yaml')]);
      assert.equal(delB.code, 0, delB.stderr);
      assert.match(delB.stdout, /^authorizationpolicy demo\/deny-nobody deleted/);
      assert.notEqual((await curl()).code, 0, 'the DENY of a/policy.yaml is still in force');
      const never = await ambit(['mesh', 'delete', ...sd, 'authorizationpolicy/demo/never-applied']);
      assert.equal(never.code, 1);
      assert.match(never.stderr, /authorizationpolicy demo\/never-applied: not found/);
      const fromStdin = await ambit(['mesh', 'delete', ...sd, '-f', '-'], 30_000, deny);
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      await eventually(async () => (await curl()).code === 0, 'deleting the DENY (read from stdin) restores traffic');
      const reapply = await ambit(['mesh', 'apply', ...sd, '-f', '-'], 30_000, other);
      assert.equal(reapply.stdout, 'authorizationpolicy demo/deny-nobody created from (stdin)\n');
      assert.equal((await ambit(['mesh', 'delete', ...sd, 'authorizationpolicy/demo/deny-nobody'])).code, 0);
    } finally {
      rmSync(folders, { recursive: true, force: true });
    }
  });

  it('refuses --prefix while this mesh uses it, naming the state dir, and leaves the running mesh alone', async () => {
    const other = mkdtempSync(join(tmpdir(), 'a9m-other-'));
    try {
      const netnsBefore = [...findLeftovers(prefix).netns].sort();
      const clash = await ambit(['mesh', 'up', '--nodes', '1', '--prefix', prefix, '--state-dir', other]);
      assert.notEqual(clash.code, 0);
      assert.match(clash.stderr, new RegExp(`prefix "${prefix}" is in use .*state dir ${stateDir}`));
      assert.equal(existsSync(join(other, 'mesh.json')), false);
      assert.deepEqual([...findLeftovers(prefix).netns].sort(), netnsBefore);
      const r = await ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://frontend']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('rolls back a failed up without touching another mesh', async () => {
    const other = mkdtempSync(join(tmpdir(), 'a9m-rollback-'));
    const failing = `a9m-rb-${randomBytes(3).toString('hex')}`;
    try {
      await assert.rejects(
        meshUp({ stateDir: other, nodes: 1, demo: 'none', prefix: failing, ambitArgv: [process.execPath, '-e', 'process.exit(3)', '--'], demoAppArgv: [process.execPath, DEMO_APP] }),
        (e: unknown) => e instanceof Error && /istiod .* exited during start-up/.test(e.message),
      );
      assert.deepEqual(findLeftovers(failing), { netns: [], links: [], cgroups: [] });
      assert.equal(existsSync(join(other, 'mesh.json')), false);
      const r = await ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://frontend']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('points status at the log of a dead agent and istiod, and restarts them on up (same ports), idempotently', async () => {
    const node1 = state.agents.find((a) => a.node === 'node1')!;
    for (const pid of [state.istiod.pid, node1.pid]) process.kill(pid, 'SIGKILL');
    await eventually(async () => [state.istiod.pid, node1.pid].every((pid) => !isAlive(pid)), 'the killed processes are gone', 5_000, 50);
    const status = await ambit(['mesh', 'status', ...sd]);
    assert.equal(status.code, 1);
    assert.match(status.stdout, new RegExp(`istiod \\(pid ${state.istiod.pid}\\): see ${state.istiod.log}`));
    assert.match(status.stdout, new RegExp(`agent node1 \\(pid ${node1.pid}\\): see ${node1.log}`));
    const up = await ambit(['mesh', 'up', ...sd]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /restarted istiod, agent node1/);
    const repaired = readMeshState(stateDir)!;
    assert.notEqual(repaired.istiod.pid, state.istiod.pid);
    assert.equal(repaired.istiod.monitoringAddress, state.istiod.monitoringAddress);
    assert.deepEqual(repaired.agents.find((a) => a.node === 'node1')?.readinessAddress, node1.readinessAddress);
    assert.equal(repaired.agents.find((a) => a.node === 'node0')?.pid, state.agents.find((a) => a.node === 'node0')?.pid);
    state = repaired;
    const curl = () => ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://frontend']);
    await eventually(async () => (await curl()).code === 0, 'traffic flows through the restarted agent');
    const again = await ambit(['mesh', 'up', ...sd]);
    assert.match(again.stdout, /already runs/);
    assert.deepEqual(readMeshState(stateDir), state);
    assert.equal((await ambit(['mesh', 'status', ...sd])).code, 0);
  });

  it('answers the debug commands against the running agents and istiod (table and json)', async () => {
    const w = await ambit(['ztunnel-config', 'workloads', '--node', 'node0', ...sd]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /NAMESPACE\s+POD NAME\s+ADDRESS\s+NODE\s+WAYPOINT\s+PROTOCOL/);
    assert.match(w.stdout, new RegExp(`demo\\s+${frontend}\\s+10\\.\\S+\\s+node0\\s+None\\s+HBONE`));
    const wj = JSON.parse((await ambit(['ztunnel-config', 'workloads', '--node', 'node1', '-o', 'json', ...sd])).stdout) as unknown[];
    assert.equal(wj.length, 3);
    const certs = await ambit(['ztunnel-config', 'certificates', '--node', 'node1', ...sd]);
    assert.match(certs.stdout, /spiffe:\/\/cluster\.local\/ns\/demo\/sa\/backend\s+Leaf\s+Available\s+true/);
    const ps = await ambit(['proxy-status', ...sd]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /ztunnel-node0/);
    assert.match(ps.stdout, /SYNCED/);
    const bpf = await ambit(['bpf', 'pods', '--instance', `${prefix}-node1`, '-o', 'json']);
    assert.equal(bpf.code, 0, bpf.stderr);
    assert.equal((JSON.parse(bpf.stdout) as unknown[]).length, 2);
  });

  it('takes everything down from another process, leaving no namespace, cgroup, pin or process', async () => {
    const pids = [state.istiod.pid, ...state.agents.map((a) => a.pid)];
    const down = await ambit(['mesh', 'down', ...sd]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /removed/);
    assert.deepEqual(await findLeftovers(prefix), { netns: [], links: [], cgroups: [] });
    for (const a of state.agents) assert.equal(existsSync(join('/sys/fs/bpf/ambit', a.instance)), false);
    for (const d of state.etcNetnsDirs) assert.equal(existsSync(d), false);
    // A killed process may linger as a zombie until init reaps it; it does not run.
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still runs`);
    const again = await ambit(['mesh', 'down', ...sd]);
    assert.match(again.stdout, /nothing to do/);
  });
});
