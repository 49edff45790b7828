/**
 * Helpers for e2e tests over a local mesh: run commands in its pods, read
 * agents' admin and metrics, and wait (bounded) for a condition.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { podExecArgv } from '../../src/mesh/exec.js';
import type { MeshState, PodRecord } from '../../src/mesh/state.js';
import { processGuard } from './process-guard.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const AMBIT_BIN = join(root, 'bin', 'ambit');
export const DEMO_APP = join(root, 'dist', 'mesh', 'apps', 'demo-app.js');
/** The sample images' stand-in app and the in-repo sample manifests. */
export const STANDIN_APP = join(root, 'dist', 'mesh', 'apps', 'standin-app.js');
export const SAMPLES_DIR = join(root, 'examples', 'samples');

/** The e2e suites run the built agent: fail clearly when the build is missing. */
export function requireBuild(): void {
  for (const f of [join(root, 'dist', 'cli', 'main.js'), DEMO_APP, join(root, 'build', 'Release', 'ambit_native.node')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` (npm test does) before the e2e suites`);
  }
}

/**
 * Puts istiod and every agent of `state` under the process guard: a test
 * during which one of them exits fails. Call `releaseMesh` before `meshDown`.
 */
export function watchMesh(state: MeshState): void {
  processGuard.watch(state.istiod.pid, 'istiod', state.istiod.log);
  for (const a of state.agents) processGuard.watch(a.pid, `the agent on ${a.node}`, a.log);
}

/** Takes the processes of `state` off the guard (they are about to be stopped). */
export function releaseMesh(state: MeshState): void {
  processGuard.release(state.istiod.pid);
  for (const a of state.agents) processGuard.release(a.pid);
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv inside a pod; bounded by `timeoutMs` (killed after). */
export function execInPod(pod: Pick<PodRecord, 'cgroup' | 'netns'>, argv: readonly string[], timeoutMs = 15_000, input?: string): Promise<Run> {
  const [cmd, ...args] = podExecArgv(pod, argv);
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined);
  child.stdin.end(input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

export function podOf(state: MeshState, app: string, index = 0): PodRecord {
  const pods = state.pods.filter((p) => p.app === app);
  const pod = pods[index];
  if (pod === undefined) throw new Error(`no ${app} pod #${index} in the mesh`);
  return pod;
}

/** One TCP exchange from inside a pod: sends `payload`, half-closes, prints what came back. */
export const TCP_EXCHANGE_SCRIPT = `
const net = require('node:net');
const [host, port, payload] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), allowHalfOpen: true });
const chunks = [];
s.setTimeout(8000, () => { process.stderr.write('timeout'); process.exit(3); });
s.on('connect', () => s.end(payload));
s.on('data', (c) => chunks.push(c));
s.on('end', () => { process.stdout.write(Buffer.concat(chunks)); process.exit(0); });
s.on('error', (e) => { process.stderr.write(e.code || e.message); process.exit(2); });
`;

/** Waits until `check` resolves true; polls every `everyMs`, fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Sum of a metric's samples whose labels include `labels`, from a Prometheus text page. */
export function sumMetric(text: string, name: string, labels: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(3000) });
  return res.text();
}
