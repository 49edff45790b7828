/**
 * The data plane's cost on this machine's kernel: a two-node netns mesh
 * (istiod, one node agent per node, real eBPF capture, HBONE mTLS), a client
 * pod on node0 and a server pod on node1, once unenrolled (direct) and once
 * enrolled (mesh), measured in the same run:
 *   - TCP throughput with iperf3, 1 stream and 8 streams, and the agents'
 *     CPU while the single stream runs;
 *   - HTTP/1.1 with a 1 KiB answer under wrk at 16 and 64 connections: p50,
 *     p99, requests/s, and both agents' CPU seconds per 1,000 requests
 *     (= vCPU per 1,000 requests/s);
 *   - both agents' RSS idle and with N (10,000) tunnelled connections held
 *     open, and the rate at which those connections open.
 * Direct and mesh alternate within each round so drift affects both alike.
 * Each figure prints median, min and max over the rounds, mesh/direct
 * (ratio of the medians) and the target beside it; never pass/fail.
 *
 * Run (root, after `npm run build`; needs iperf3 and wrk):
 *   node --import tsx bench/mesh-dataplane.ts [--rounds 3] [--iperf-seconds 5] [--wrk-seconds 10] [--connections 10000]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { meshDown, meshUp, HTTP_GET_SCRIPT } from '../src/mesh/local-mesh.js';
import { namespaceManifest, podManifest } from '../src/mesh/manifests.js';
import { stopProcess, type ClusterPod, type ClusterProcess, type NetnsCluster } from '../src/mesh/cluster/index.js';
import type { AgentRecord, MeshState } from '../src/mesh/state.js';
import { withEnrollmentClient } from '../src/ztunnel/enroll/index.js';
import { AMBIT_BIN, DEMO_APP, requireBuild, scrape, sumMetric } from '../test/support/mesh.js';
import {
  clockTicksPerSecond,
  parseIperf3BitsPerSecond,
  parseWrk,
  processCpuSeconds,
  processRssBytes,
  spread,
  type Spread,
  type WrkResult,
} from './support/load-tools.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isInteger(v) && v > 0 ? v : fallback;
}
const ROUNDS = arg('--rounds', 3);
const IPERF_SECONDS = arg('--iperf-seconds', 5);
const WRK_SECONDS = arg('--wrk-seconds', 10);
const CONNECTIONS = arg('--connections', 10_000);
const CONCURRENCIES = [16, 64] as const;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUPPORT = join(ROOT, 'bench', 'support');
const NAMESPACE = 'bench';
const HTTP_PORT = 8080;
const HOLD_PORT = 9000;
const IPERF_PORT = 5201;
const CONNECTS_IN_FLIGHT = 256;
const DRAIN_TIMEOUT_MS = 60_000;
/** Pod processes that hold many sockets raise their descriptor limit first (to the hard limit where 65536 is refused). */
const WITH_FD_LIMIT = ['sh', '-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'bench'];
const MB = 1_000_000;

type Mode = 'direct' | 'mesh';
const MODES: readonly Mode[] = ['direct', 'mesh'];

interface Pair {
  readonly mode: Mode;
  readonly client: ClusterPod;
  readonly server: ClusterPod;
}

const started = Date.now();
function say(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it is true; fails after `timeoutMs`. */
async function waitUntil(what: string, timeoutMs: number, everyMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Resolves with the process's stdout so far once it matches `re`; fails if it exits or the time runs out. */
function waitForOutput(p: ClusterProcess, re: RegExp, timeoutMs: number, what: string): Promise<string> {
  let out = '';
  let err = '';
  p.child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what}: no ${re} within ${timeoutMs} ms; stderr: ${err.trim()}`)), timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (re.test(out)) finish(undefined);
    };
    const onExit = (): void => finish(new Error(`${what} exited early; stderr: ${err.trim()}`));
    const finish = (e: Error | undefined): void => {
      clearTimeout(timer);
      p.child.stdout?.off('data', onData);
      p.child.off('exit', onExit);
      if (e === undefined) resolve(out);
      else reject(e);
    };
    p.child.stdout?.on('data', onData);
    p.child.once('exit', onExit);
  });
}

class DataplaneBench {
  private readonly own = new Set<ClusterProcess>();
  private readonly ticks = clockTicksPerSecond();

  constructor(
    private readonly cluster: NetnsCluster,
    private readonly state: MeshState,
  ) {}

  private get agents(): readonly AgentRecord[] {
    return this.state.agents;
  }

  /** Stops every process this bench started in a pod, by PID. */
  async stopAll(): Promise<void> {
    for (const p of this.own) await stopProcess(p, 1000).catch(() => undefined);
    this.own.clear();
  }

  private spawn(pod: ClusterPod, argv: readonly string[], stdin: 'pipe' | 'ignore' = 'ignore'): ClusterProcess {
    const p = this.cluster.spawnInPod(pod.name, argv, { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
    this.own.add(p);
    p.child.stdout?.resume();
    p.child.stderr?.resume();
    void p.exited.then(() => this.own.delete(p));
    return p;
  }

  /** Ends a process that should exit by itself: waits up to `graceMs`, then stops it. */
  private async reap(p: ClusterProcess, graceMs: number): Promise<void> {
    const timeout = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([p.exited, timeout])) === 'timeout') await stopProcess(p, 1000);
  }

  async addPods(): Promise<Pair[]> {
    const pods = {
      directClient: await this.cluster.addPod('node0', 'direct-client'),
      directServer: await this.cluster.addPod('node1', 'direct-server'),
      meshClient: await this.cluster.addPod('node0', 'mesh-client'),
      meshServer: await this.cluster.addPod('node1', 'mesh-server'),
    };
    for (const pod of Object.values(pods)) {
      const r = await this.cluster.execInPod(pod.name, ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65000', 'net.core.somaxconn=8192']);
      if (r.code !== 0) throw new Error(`sysctl in pod ${pod.name}: ${r.stderr.trim()}`);
    }
    return [
      { mode: 'direct', client: pods.directClient, server: pods.directServer },
      { mode: 'mesh', client: pods.meshClient, server: pods.meshServer },
    ];
  }

  /** Tells istiod about the mesh pods, enrolls them with their agents and waits until both agents have both as HBONE workloads. */
  async enroll(pair: Pair): Promise<void> {
    const roles = [
      { pod: pair.client, app: 'bench-client' },
      { pod: pair.server, app: 'bench-server' },
    ];
    const docs = [
      namespaceManifest(NAMESPACE, true),
      ...roles.map(({ app }) => stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: app, namespace: NAMESPACE } })),
      ...roles.map(({ pod, app }) =>
        podManifest({ name: pod.name, namespace: NAMESPACE, uid: pod.uid, node: pod.node, ips: pod.ips, app, serviceAccount: app, containerPort: HTTP_PORT }),
      ),
    ];
    writeFileSync(join(this.state.configDir, '50-bench-dataplane.yaml'), docs.join('---\n'));
    for (const { pod, app } of roles) {
      const agent = this.agentOn(pod.node);
      await withEnrollmentClient({ socketPath: agent.enrollSocket }, (c) =>
        c.addPod({
          uid: pod.uid,
          name: pod.name,
          namespace: NAMESPACE,
          serviceAccount: app,
          netnsPath: pod.netnsPath,
          cgroupPath: pod.cgroup,
          ips: pod.ips,
        }),
      );
    }
    const names = roles.map((r) => r.pod.name);
    await waitUntil('both agents list the mesh pods as HBONE workloads', 30_000, 200, async () => {
      for (const a of this.agents) {
        const dump = (await (await fetch(`http://${a.adminAddress}/config_dump`, { signal: AbortSignal.timeout(3000) })).json()) as {
          workloads?: { name?: string; namespace?: string; protocol?: string }[];
        };
        const hbone = new Set((dump.workloads ?? []).filter((w) => w.protocol === 'HBONE' && w.namespace === NAMESPACE).map((w) => w.name));
        if (!names.every((n) => hbone.has(n))) return false;
      }
      return true;
    });
  }

  private agentOn(node: string): AgentRecord {
    const a = this.agents.find((x) => x.node === node);
    if (a === undefined) throw new Error(`no agent on ${node}`);
    return a;
  }

  async startServers(pair: Pair): Promise<void> {
    for (const [script, port] of [
      ['http-1k-server.ts', HTTP_PORT],
      ['tcp-hold-server.ts', HOLD_PORT],
    ] as const) {
      const p = this.spawn(pair.server, [...WITH_FD_LIMIT, process.execPath, '--import', 'tsx', join(SUPPORT, script), String(port)]);
      await waitForOutput(p, /^listening /m, 20_000, `${script} in ${pair.server.name}`);
    }
  }

  /** One request from client to server until it answers 200 (the mesh fetches certificates on first use). */
  async warmUp(pair: Pair): Promise<void> {
    const url = `http://${pair.server.ip}:${HTTP_PORT}/`;
    let last = '';
    await waitUntil(`${pair.mode}: ${pair.client.name} -> ${url}`, 30_000, 300, async () => {
      const r = await this.cluster.execInPod(pair.client.name, [process.execPath, '-e', HTTP_GET_SCRIPT, url], { timeoutMs: 8000 });
      last = r.stderr.trim();
      return r.code === 0;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${last}`);
    });
  }

  agentCpuSeconds(): number[] {
    return this.agents.map((a) => processCpuSeconds(a.pid, this.ticks));
  }

  agentRssBytes(): number[] {
    return this.agents.map((a) => processRssBytes(a.pid));
  }

  /** iperf3 client -> `iperf3 -s -1`; receiver bits/s and the agents' CPU seconds meanwhile. */
  async iperf(pair: Pair, streams: number): Promise<{ bitsPerSecond: number; agentCpuSeconds: number; seconds: number }> {
    const server = this.spawn(pair.server, ['iperf3', '-s', '-1', '-p', String(IPERF_PORT)]);
    try {
      await waitUntil(`iperf3 listening in ${pair.server.name}`, 10_000, 50, async () => {
        const r = await this.cluster.execInPod(pair.server.name, ['ss', '-Hltn', `sport = :${IPERF_PORT}`], { timeoutMs: 3000 });
        return r.stdout.trim() !== '';
      });
      const cpu0 = this.agentCpuSeconds();
      const t0 = Date.now();
      const argv = ['iperf3', '-c', pair.server.ip, '-p', String(IPERF_PORT), '-t', String(IPERF_SECONDS), '-J'];
      if (streams > 1) argv.push('-P', String(streams));
      const r = await this.cluster.execInPod(pair.client.name, argv, { timeoutMs: (IPERF_SECONDS + 30) * 1000 });
      const seconds = (Date.now() - t0) / 1000;
      const cpu1 = this.agentCpuSeconds();
      if (r.code !== 0 && r.stdout.trim() === '') throw new Error(`iperf3 (${pair.mode}, -P ${streams}) exited ${r.code}: ${r.stderr.trim()}`);
      return { bitsPerSecond: parseIperf3BitsPerSecond(r.stdout), agentCpuSeconds: sum(cpu1) - sum(cpu0), seconds };
    } finally {
      await this.reap(server, 3000);
    }
  }

  /** wrk against the 1 KiB server; the agents' CPU seconds over the run. */
  async wrk(pair: Pair, connections: number): Promise<{ result: WrkResult; agentCpuSeconds: number }> {
    const url = `http://${pair.server.ip}:${HTTP_PORT}/`;
    const cpu0 = this.agentCpuSeconds();
    const r = await this.cluster.execInPod(pair.client.name, ['wrk', '-t2', `-c${connections}`, `-d${WRK_SECONDS}s`, '--latency', url], {
      timeoutMs: (WRK_SECONDS + 30) * 1000,
    });
    const cpu1 = this.agentCpuSeconds();
    if (r.code !== 0) throw new Error(`wrk (${pair.mode}, -c${connections}) exited ${r.code}: ${r.stderr.trim()}`);
    return { result: parseWrk(r.stdout), agentCpuSeconds: sum(cpu1) - sum(cpu0) };
  }

  /** Proxied connections each agent reports (all directions). */
  async activeConnections(): Promise<number[]> {
    const out: number[] = [];
    for (const a of this.agents) out.push(sumMetric(await scrape(a.statsAddress), 'ambit_active_connections', {}));
    return out;
  }

  /**
   * Opens `CONNECTIONS` connections from client to server's hold port and
   * keeps them; at that point (mesh) the agents' RSS and live connection
   * counts above the count before; then resets them all and waits (bounded)
   * until the agents are back to the count before.
   */
  async holdConnections(pair: Pair): Promise<HoldResult> {
    const before = pair.mode === 'mesh' ? await this.activeConnections() : [];
    const client = this.spawn(
      pair.client,
      [...WITH_FD_LIMIT, process.execPath, '--import', 'tsx', join(SUPPORT, 'tcp-hold-client.ts'), pair.server.ip, String(HOLD_PORT), String(CONNECTIONS), String(CONNECTS_IN_FLIGHT), '90000'],
      'pipe',
    );
    try {
      const out = await waitForOutput(client, /^\{.*\}$/m, 120_000, `tcp-hold-client in ${pair.client.name}`);
      const line = /^\{.*\}$/m.exec(out)![0];
      const opened = JSON.parse(line) as { open: number; failed: number; openMs: number };
      if (pair.mode === 'direct') {
        client.child.stdin?.end('close\n');
        await this.reap(client, 15_000);
        return { ...opened, before, rss: [], held: [], drainMs: undefined, left: [] };
      }
      await sleep(1000);
      const rss = this.agentRssBytes();
      const held = (await this.activeConnections()).map((n, i) => n - (before[i] ?? 0));
      client.child.stdin?.end('close\n');
      const closedAt = Date.now();
      await this.reap(client, 15_000);
      let left: number[] = [];
      let logged = Date.now();
      const drained = await waitUntil('drain', DRAIN_TIMEOUT_MS, 250, async () => {
        left = (await this.activeConnections()).map((n, i) => n - (before[i] ?? 0));
        if (Date.now() - logged > 5000) {
          logged = Date.now();
          say(`  held connections still live at the agents: ${left.join(', ')}`);
        }
        return left.every((n) => n <= 0);
      }).then(
        () => true,
        () => false,
      );
      return { ...opened, before, rss, held, drainMs: drained ? Date.now() - closedAt : undefined, left };
    } finally {
      await this.reap(client, 1000);
    }
  }
}

interface HoldResult {
  readonly open: number;
  readonly failed: number;
  readonly openMs: number;
  /** Per agent (mesh only): live connections before the client started. */
  readonly before: readonly number[];
  readonly rss: readonly number[];
  readonly held: readonly number[];
  /** Time from the client's reset until the agents listed none of the held connections; undefined when they still did after DRAIN_TIMEOUT_MS. */
  readonly drainMs: number | undefined;
  readonly left: readonly number[];
}

function sum(values: readonly number[]): number {
  return values.reduce((a, v) => a + v, 0);
}

/** Per mode, per figure: one value per round. */
class Samples {
  private readonly values = new Map<string, number[]>();
  readonly notes: string[] = [];

  note(line: string): void {
    say(`  ${line}`);
    this.notes.push(line);
  }

  add(mode: Mode | 'delta', figure: string, value: number): void {
    const key = `${mode}:${figure}`;
    const list = this.values.get(key) ?? [];
    list.push(value);
    this.values.set(key, list);
  }

  get(mode: Mode | 'delta', figure: string): Spread {
    return spread(this.values.get(`${mode}:${figure}`) ?? []);
  }
}

function cell(s: Spread, digits: number): string {
  if (s.n === 0) return '-';
  return `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}..${s.max.toFixed(digits)}]`;
}

interface Row {
  readonly label: string;
  readonly figure: string;
  readonly digits: number;
  readonly ratio?: boolean;
  readonly target?: string;
  /** Only a mesh column (or a mesh-minus-direct column, `delta`). */
  readonly only?: 'mesh' | 'delta';
}

function printTable(samples: Samples, rows: readonly Row[]): void {
  const header = ['figure', 'direct median [min..max]', 'mesh median [min..max]', 'mesh/direct', 'target'];
  const lines = rows.map((r) => {
    const d = r.only === undefined ? samples.get('direct', r.figure) : undefined;
    const m = samples.get(r.only === 'delta' ? 'delta' : 'mesh', r.figure);
    const ratio = r.ratio === true && d !== undefined && d.n > 0 && m.n > 0 ? (m.median / d.median).toFixed(3) : '-';
    return [r.label, d === undefined ? '-' : cell(d, r.digits), cell(m, r.digits), ratio, r.target ?? ''];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: readonly string[]): string => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
}

function requireTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the data-plane bench builds network namespaces and eBPF capture: run it as root');
  for (const [tool, flag] of [
    ['iperf3', '--version'],
    ['wrk', '--version'],
  ] as const) {
    const r = spawnSync(tool, [flag], { stdio: 'ignore' });
    if (r.error !== undefined) throw new Error(`${tool} is missing: apt-get install -y iperf3 wrk (scripts/setup.sh installs both)`);
  }
  requireBuild();
}

/** Runs one measurement; a failure becomes a note and the run goes on. */
async function attempt<T>(samples: Samples, what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    samples.note(`${what} failed: ${(err as Error).message}`);
    return undefined;
  }
}

async function measure(bench: DataplaneBench, pairs: readonly Pair[], samples: Samples): Promise<void> {
  const byMode = (mode: Mode): Pair => pairs.find((p) => p.mode === mode)!;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const streams of [1, 8]) {
      for (const mode of MODES) {
        const what = `round ${round}/${ROUNDS}: iperf3 ${mode}, ${streams} stream${streams > 1 ? 's' : ''}`;
        say(what);
        const r = await attempt(samples, what, () => bench.iperf(byMode(mode), streams));
        if (r === undefined) continue;
        samples.add(mode, `iperf-${streams}`, r.bitsPerSecond / 1e9);
        samples.add(mode, `iperf-${streams}-cpu`, r.agentCpuSeconds / r.seconds);
      }
    }
    for (const c of CONCURRENCIES) {
      const p50: Partial<Record<Mode, number>> = {};
      for (const mode of MODES) {
        const what = `round ${round}/${ROUNDS}: wrk ${mode}, ${c} connections`;
        say(what);
        const r = await attempt(samples, what, () => bench.wrk(byMode(mode), c));
        if (r === undefined) continue;
        const { result, agentCpuSeconds } = r;
        if (result.errors > 0) samples.note(`${what}: ${result.errors} socket errors or non-2xx answers`);
        samples.add(mode, `p50-${c}`, result.p50Us);
        samples.add(mode, `p99-${c}`, result.p99Us);
        samples.add(mode, `rps-${c}`, result.requestsPerSecond);
        samples.add(mode, `cpu-${c}`, agentCpuSeconds / (result.requests / 1000));
        samples.add(mode, `cpu-util-${c}`, agentCpuSeconds / result.durationSeconds);
        p50[mode] = result.p50Us;
      }
      if (p50.mesh !== undefined && p50.direct !== undefined) samples.add('delta', `p50-${c}`, p50.mesh - p50.direct);
    }
  }
  hold: for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      const what = `round ${round}/${ROUNDS}: ${CONNECTIONS} held connections, ${mode}`;
      say(what);
      const r = await attempt(samples, what, () => bench.holdConnections(byMode(mode)));
      if (r === undefined) break hold;
      if (r.failed > 0 || r.open < CONNECTIONS) samples.note(`${what}: ${r.open} open, ${r.failed} failed`);
      samples.add(mode, 'open-rate', r.open / (r.openMs / 1000));
      samples.add(mode, 'open-count', r.open);
      if (mode === 'direct') continue;
      if (sum(r.before) > 0) samples.note(`${what}: the agents listed ${r.before.join(', ')} live connections before it started (left from earlier runs)`);
      r.rss.forEach((b, i) => samples.add('mesh', `rss-held-${i}`, b / MB));
      r.held.forEach((n, i) => samples.add('mesh', `active-${i}`, n));
      if (r.drainMs === undefined) {
        samples.note(`${what}: ${r.left.join(', ')} held connections still live at the agents ${DRAIN_TIMEOUT_MS / 1000} s after the client reset them all; no further rounds`);
        break hold;
      }
      samples.add('mesh', 'drain-s', r.drainMs / 1000);
    }
  }
}

function report(samples: Samples, state: MeshState): void {
  const n = CONNECTIONS.toLocaleString('en-US');
  const [a0, a1] = state.agents.map((a) => a.node);
  console.log(
    `\nmesh-dataplane: ${ROUNDS} rounds; client on ${a0}, server on ${a1}; iperf3 -t ${IPERF_SECONDS}, wrk -t2 -d${WRK_SECONDS}s; ` +
      `kernel ${os.release()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}\n`,
  );
  const rows: Row[] = [
    { label: 'TCP throughput, 1 stream (Gbit/s)', figure: 'iperf-1', digits: 2, ratio: true, target: 'mesh/direct >= 0.40' },
    { label: 'TCP throughput, 8 streams (Gbit/s)', figure: 'iperf-8', digits: 2, ratio: true },
    { label: 'agents vCPU during 1 stream', figure: 'iperf-1-cpu', digits: 2, only: 'mesh' },
    { label: 'agents vCPU during 8 streams', figure: 'iperf-8-cpu', digits: 2, only: 'mesh' },
  ];
  for (const c of CONCURRENCIES) {
    rows.push(
      { label: `HTTP 1 KiB, c${c}: p50 (us)`, figure: `p50-${c}`, digits: 0, ratio: true },
      { label: `HTTP 1 KiB, c${c}: p99 (us)`, figure: `p99-${c}`, digits: 0, ratio: true },
      { label: `HTTP 1 KiB, c${c}: added p50 (us)`, figure: `p50-${c}`, digits: 0, only: 'delta', ...(c === 16 ? { target: '< 150 us' } : {}) },
      { label: `HTTP 1 KiB, c${c}: requests/s`, figure: `rps-${c}`, digits: 0, ratio: true },
      {
        label: `HTTP 1 KiB, c${c}: agents CPU s / 1000 req`,
        figure: `cpu-${c}`,
        digits: 3,
        target: '< 0.2 (both agents)',
      },
      { label: `HTTP 1 KiB, c${c}: agents vCPU busy`, figure: `cpu-util-${c}`, digits: 2 },
    );
  }
  rows.push(
    { label: `open ${n} held conns: conns/s`, figure: 'open-rate', digits: 0, ratio: true },
    { label: `open ${n} held conns: open`, figure: 'open-count', digits: 0, ratio: true },
  );
  state.agents.forEach((a, i) => {
    rows.push({ label: `agent ${a.node} RSS idle (MB)`, figure: `rss-idle-${i}`, digits: 1, only: 'mesh' });
    rows.push({ label: `agent ${a.node} RSS at ${n} conns (MB)`, figure: `rss-held-${i}`, digits: 1, only: 'mesh', target: '< 200 MB' });
    rows.push({ label: `agent ${a.node} live conns at ${n}`, figure: `active-${i}`, digits: 0, only: 'mesh' });
  });
  rows.push({ label: `agents drop ${n} reset conns (s)`, figure: 'drain-s', digits: 1, only: 'mesh' });
  printTable(samples, rows);
  for (const line of samples.notes) console.log(`note: ${line}`);
  console.log('\n(direct column of "agents CPU" rows: the agents\' own idle CPU over the direct run, a control; added p50 = mesh - direct per round)');
}

async function main(): Promise<void> {
  requireTools();
  const stateDir = mkdtempSync(join(os.tmpdir(), 'ambit-bench-dataplane-'));
  const prefix = `ambit-bdp-${randomBytes(3).toString('hex')}`;
  let bench: DataplaneBench | undefined;
  let interrupted: NodeJS.Signals | undefined;
  let teardown: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (teardown ??= (async () => {
      say('tearing down');
      await bench?.stopAll();
      await meshDown(stateDir).catch((err: unknown) => say(`mesh down: ${(err as Error).message}`));
      rmSync(stateDir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    if (bench === undefined) {
      say(`${signal}: tearing down once the mesh is up`);
      return;
    }
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`bringing up a two-node mesh (${prefix})`);
    const up = await meshUp({
      stateDir,
      nodes: 2,
      demo: 'none',
      prefix,
      ambitArgv: [process.execPath, AMBIT_BIN],
      demoAppArgv: [process.execPath, DEMO_APP],
      progress: (line) => say(line),
    });
    if (up.cluster === undefined) throw new Error('meshUp found an existing mesh in a fresh state directory');
    bench = new DataplaneBench(up.cluster, up.state);
    if (interrupted !== undefined) throw new Error(`interrupted by ${interrupted}`);
    const pairs = await bench.addPods();
    const mesh = pairs.find((p) => p.mode === 'mesh')!;
    say('enrolling the mesh pods and waiting for their workloads at both agents');
    await bench.enroll(mesh);
    for (const pair of pairs) {
      await bench.startServers(pair);
      await bench.warmUp(pair);
    }
    const samples = new Samples();
    await sleep(2000);
    for (let i = 0; i < ROUNDS; i++) {
      bench.agentRssBytes().forEach((b, a) => samples.add('mesh', `rss-idle-${a}`, b / MB));
      await sleep(300);
    }
    await measure(bench, pairs, samples);
    report(samples, up.state);
  } finally {
    await cleanUp();
  }
}

await main();
