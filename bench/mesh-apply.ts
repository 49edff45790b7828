/**
 * How long `ambit mesh apply` of Istio's Bookinfo takes until every pod is
 * ready — running, listening, enrolled, and a workload in every agent's
 * store — on a two-node local mesh, against a baseline measured in the same
 * run: one single-pod Deployment (curl) applied the same way. Each round
 * applies, waits, then deletes and waits until the pods are gone, so every
 * round starts from the same empty namespace.
 *
 * Run (root, after `npm run build`): node --import tsx bench/mesh-apply.ts [--rounds 5]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meshDown, meshUp } from '../src/mesh/local-mesh.js';
import { readApplyInput } from '../src/mesh/apply-input.js';
import { labelNamespace, meshApply, meshDelete } from '../src/mesh/workloads/controller.js';
import { waitForPods } from '../src/mesh/workloads/queries.js';
import { readMeshState } from '../src/mesh/state.js';
import { AMBIT_BIN, DEMO_APP, SAMPLES_DIR, STANDIN_APP, requireBuild } from '../test/support/mesh.js';
import { spread, type Spread } from './support/load-tools.js';

const TARGET_MS = 5000;
const READY_TIMEOUT_MS = 60_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}
const ROUNDS = arg('--rounds', 5);
const options = { standinArgv: [process.execPath, STANDIN_APP] };

async function applyUntilReady(stateDir: string, files: readonly string[]): Promise<{ ms: number; pods: number }> {
  const input = await readApplyInput(files, () => Promise.resolve(''));
  if (input.problems.length > 0) throw new Error(input.problems.join('; '));
  const started = performance.now();
  const r = await meshApply(stateDir, input.documents, options);
  if (r.notReady.size > 0) throw new Error(`not ready: ${[...r.notReady.keys()].join(', ')}`);
  const w = await waitForPods(stateDir, (s) => s.pods.filter((p) => p.owner !== undefined), READY_TIMEOUT_MS);
  if (!w.ready) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${w.missing.join('; ')}`);
  return { ms: performance.now() - started, pods: w.pods.length };
}

async function deleteAll(stateDir: string, files: readonly string[]): Promise<void> {
  const input = await readApplyInput(files, () => Promise.resolve(''));
  await meshDelete(stateDir, input.documents, options);
  const left = readMeshState(stateDir)!.pods.filter((p) => p.owner !== undefined);
  if (left.length > 0) throw new Error(`pods left after delete: ${left.map((p) => p.name).join(', ')}`);
}

function line(label: string, s: Spread, unit: string): string {
  return `${label.padEnd(34)} median ${s.median.toFixed(0).padStart(6)} ${unit}   min ${s.min.toFixed(0).padStart(6)}   max ${s.max.toFixed(0).padStart(6)}   (n=${s.n})`;
}

async function main(): Promise<void> {
  requireBuild();
  const stateDir = mkdtempSync(join(tmpdir(), 'ambit-bench-apply-'));
  const prefix = `a9m-ba-${randomBytes(3).toString('hex')}`;
  const say = (l: string): void => void process.stdout.write(`${l}\n`);
  const onSignal = (): void => void meshDown(stateDir).finally(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`bringing up a two-node mesh (${prefix}), no demo`);
    await meshUp({ stateDir, nodes: 2, demo: 'none', prefix, ambitArgv: [process.execPath, AMBIT_BIN], demoAppArgv: [process.execPath, DEMO_APP] });
    await labelNamespace(stateDir, 'default', [{ kind: 'set', key: 'istio.io/dataplane-mode', value: 'ambient' }], false, options);
    const single = [join(SAMPLES_DIR, 'curl', 'curl.yaml')];
    const bookinfo = [join(SAMPLES_DIR, 'bookinfo', 'bookinfo.yaml')];
    const singleMs: number[] = [];
    const bookinfoMs: number[] = [];
    let bookinfoPods = 0;
    // Interleaved, so a slow moment of the machine hits both columns alike.
    for (let r = 0; r < ROUNDS; r++) {
      singleMs.push((await applyUntilReady(stateDir, single)).ms);
      await deleteAll(stateDir, single);
      const b = await applyUntilReady(stateDir, bookinfo);
      bookinfoMs.push(b.ms);
      bookinfoPods = b.pods;
      await deleteAll(stateDir, bookinfo);
      say(`round ${r + 1}/${ROUNDS}: curl ${singleMs[r]!.toFixed(0)} ms, Bookinfo (${bookinfoPods} pods) ${bookinfoMs[r]!.toFixed(0)} ms`);
    }
    const s = spread(singleMs);
    const b = spread(bookinfoMs);
    say('');
    say('mesh apply -f -> every pod ready (running, listening, enrolled, in every agent\'s store)');
    say(line('baseline: curl (1 pod)', s, 'ms'));
    say(line(`Bookinfo (${bookinfoPods} pods)`, b, 'ms'));
    say(`ratio Bookinfo / baseline (medians): ${(b.median / s.median).toFixed(2)}; per pod: ${(b.median / bookinfoPods).toFixed(0)} ms`);
    say(`target: Bookinfo under ${TARGET_MS} ms -> ${b.median < TARGET_MS ? 'met' : 'NOT met'} (median ${(b.median / 1000).toFixed(2)} s)`);
  } finally {
    await meshDown(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
