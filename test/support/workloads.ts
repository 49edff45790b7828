/**
 * Helpers for the e2e suites over workloads applied to a local mesh: run
 * the built CLI, read `mesh get ... -o json`, exec in a Deployment's pod,
 * sum an agent metric over every node, and take the mesh down checking that
 * nothing of it is left.
 *
 *   const m = await startMesh('a9m-wl-samples');   // mesh up --demo none, guarded
 *   await m.ambit(['mesh', 'apply', '-f', SAMPLES.curl]);
 *   const pods = await m.pods('default');
 *   await m.down();                                // in `after`, whatever happened
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLeftovers } from '../../src/mesh/cluster/index.js';
import { meshDown } from '../../src/mesh/local-mesh.js';
import { readMeshState, type MeshState } from '../../src/mesh/state.js';
import type { DeploymentView, PodView, ServiceView } from '../../src/mesh/workloads/queries.js';
import { AMBIT_BIN, releaseMesh, requireBuild, scrape, sumMetric, TCP_EXCHANGE_SCRIPT, watchMesh, type Run } from './mesh.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const samplesDir = join(root, 'examples', 'samples');

/** The sample manifests, as a user applies them (never modified by the suites). */
export const SAMPLES = {
  bookinfo: join(samplesDir, 'bookinfo', 'bookinfo.yaml'),
  bookinfoVersions: join(samplesDir, 'bookinfo', 'bookinfo-versions.yaml'),
  httpbin: join(samplesDir, 'httpbin', 'httpbin.yaml'),
  curl: join(samplesDir, 'curl', 'curl.yaml'),
  helloworld: join(samplesDir, 'helloworld', 'helloworld.yaml'),
  tcpEcho: join(samplesDir, 'tcp-echo', 'tcp-echo.yaml'),
} as const;

const ETC_NETNS = '/etc/netns';
/** How long one CLI call may take unless the caller says otherwise. */
const CLI_TIMEOUT_MS = 90_000;

/** Runs the built `bin/ambit` (killed after `timeoutMs`); resolves whatever its exit code. */
export function runAmbit(args: readonly string[], timeoutMs = CLI_TIMEOUT_MS, input?: string): Promise<Run> {
  const child = spawn(process.execPath, [AMBIT_BIN, ...args], { cwd: root, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  child.stdin?.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `/etc/netns/<prefix>-*` directories (one per pod while the mesh runs). */
export function etcNetnsOf(prefix: string): string[] {
  if (!existsSync(ETC_NETNS)) return [];
  return readdirSync(ETC_NETNS).filter((n) => n.startsWith(`${prefix}-`));
}

/** One local mesh of a suite: its state dir, prefix, and the CLI bound to them. */
export class TestMesh {
  readonly stateDir: string;
  readonly prefix: string;
  private guarded: MeshState | undefined;

  constructor(tag: string) {
    this.prefix = `a9m-${tag}-${randomBytes(3).toString('hex')}`;
    this.stateDir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
  }

  /** `ambit mesh <command> --state-dir DIR <rest...>` (before any `--`, so exec's command is left alone). */
  ambit(args: readonly string[], timeoutMs?: number, input?: string): Promise<Run> {
    return runAmbit([...args.slice(0, 2), '--state-dir', this.stateDir, ...args.slice(2)], timeoutMs, input);
  }

  /** Like `ambit`, but a non-zero exit fails with the command and its output. */
  async ok(args: readonly string[], timeoutMs?: number): Promise<Run> {
    const r = await this.ambit(args, timeoutMs);
    assert.equal(r.code, 0, `ambit ${args.join(' ')} exited ${String(r.code)}:\n${r.stdout}${r.stderr}`);
    return r;
  }

  state(): MeshState {
    const s = readMeshState(this.stateDir);
    if (s === undefined) throw new Error(`no mesh recorded in ${this.stateDir}`);
    return s;
  }

  async pods(namespace?: string): Promise<PodView[]> {
    const r = await this.ok(['mesh', 'get', 'pods', '-o', 'json', ...(namespace === undefined ? ['-A'] : ['-n', namespace])]);
    return (JSON.parse(r.stdout) as { items: PodView[] }).items;
  }

  /** The pods a Deployment owns now. */
  async podsOf(deployment: string, namespace = 'default'): Promise<PodView[]> {
    return (await this.pods(namespace)).filter((p) => p.owner === `Deployment/${deployment}`);
  }

  async deployments(namespace = 'default'): Promise<DeploymentView[]> {
    const r = await this.ok(['mesh', 'get', 'deployments', '-o', 'json', '-n', namespace]);
    return (JSON.parse(r.stdout) as { items: DeploymentView[] }).items;
  }

  async services(namespace = 'default'): Promise<ServiceView[]> {
    const r = await this.ok(['mesh', 'get', 'services', '-o', 'json', '-n', namespace]);
    return (JSON.parse(r.stdout) as { items: ServiceView[] }).items;
  }

  /** `mesh exec [-n NS] TARGET -- argv`. */
  exec(target: string, argv: readonly string[], namespace = 'default', timeoutMs = 20_000): Promise<Run> {
    return this.ambit(['mesh', 'exec', '-n', namespace, target, '--', ...argv], timeoutMs);
  }

  /** `curl -s -m 5 ...` from the curl Deployment's pod; a failed curl fails. */
  async curl(args: readonly string[], namespace = 'default'): Promise<string> {
    const r = await this.exec('deploy/curl', ['curl', '-s', '-S', '-m', '5', ...args], namespace);
    assert.equal(r.code, 0, `curl ${args.join(' ')} from deploy/curl in ${namespace}: exit ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  }

  /** One TCP exchange from the curl pod (node is on the host): sends `payload`, half-closes, returns what came back. */
  async tcpExchange(host: string, port: number, payload: string, namespace = 'default'): Promise<string> {
    const r = await this.exec('deploy/curl', [process.execPath, '-e', TCP_EXCHANGE_SCRIPT, host, String(port), payload], namespace);
    assert.equal(r.code, 0, `tcp ${host}:${port} from deploy/curl: exit ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  }

  /** A metric summed over every agent's /metrics, for samples whose labels include `labels`. */
  async metric(name: string, labels: Readonly<Record<string, string>>): Promise<number> {
    const pages = await Promise.all(this.state().agents.map((a) => scrape(a.statsAddress)));
    return pages.reduce((sum, page) => sum + sumMetric(page, name, labels), 0);
  }

  /** `mesh up --demo none`, then istiod and the agents go under the process guard. */
  async up(nodes = 2): Promise<void> {
    requireBuild();
    await this.ok(['mesh', 'up', '--nodes', String(nodes), '--demo', 'none', '--prefix', this.prefix]);
    this.guard();
  }

  /** (Re)puts the mesh's current istiod and agents under the process guard. */
  guard(): void {
    if (this.guarded !== undefined) releaseMesh(this.guarded);
    this.guarded = this.state();
    watchMesh(this.guarded);
  }

  /** Takes the mesh's processes off the guard (before a test stops them). */
  unguard(): void {
    if (this.guarded !== undefined) releaseMesh(this.guarded);
    this.guarded = undefined;
  }

  /** Takes the mesh down (idempotent) and checks nothing with its prefix is left; removes the state dir. */
  async down(): Promise<void> {
    this.unguard();
    await meshDown(this.stateDir);
    try {
      assert.deepEqual(findLeftovers(this.prefix), { netns: [], links: [], cgroups: [] });
      assert.deepEqual(etcNetnsOf(this.prefix), []);
    } finally {
      rmSync(this.stateDir, { recursive: true, force: true });
    }
  }
}
