/**
 * `ambit mesh` as a user drives it, through the built CLI: up (twice),
 * status, exec, apply (valid and invalid), delete, the debug commands
 * against the running mesh, and down leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { findLeftovers } from '../../../src/mesh/cluster/index.js';
import { readMeshState, type MeshState } from '../../../src/mesh/state.js';
import { meshDown } from '../../../src/mesh/local-mesh.js';
import { AMBIT_BIN, eventually, requireBuild } from '../../support/mesh.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ambit(args: readonly string[], timeoutMs = 120_000): Promise<Run> {
  const child = spawn(process.execPath, [AMBIT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('e2e: ambit mesh up/status/exec/apply/down and the debug CLI against it', function () {
  this.timeout(240_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'ambit-e2e-cli-'));
  const prefix = `ambit-cli-${randomBytes(3).toString('hex')}`;
  const sd = ['--state-dir', stateDir];
  let state: MeshState;
  let frontend: string;

  before(async () => {
    requireBuild();
    const up = await ambit(['mesh', 'up', '--nodes', '2', '--prefix', prefix, ...sd]);
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
    const curl = () => ambit(['mesh', 'exec', ...sd, frontend, '--', 'curl', '-s', '-m', '5', 'http://backend']);
    await eventually(async () => (await curl()).code !== 0, 'the DENY blocks the frontend');
    const del = await ambit(['mesh', 'delete', ...sd, '-f', 'examples/policies/deny-frontend.yaml']);
    assert.equal(del.code, 0);
    await eventually(async () => (await curl()).code === 0, 'deleting the DENY restores traffic');
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
    for (const pid of pids) assert.throws(() => process.kill(pid, 0));
    const again = await ambit(['mesh', 'down', ...sd]);
    assert.match(again.stdout, /nothing to do/);
  });
});
