/**
 * Debian's real Prometheus server for tests that check scraped metrics:
 * started on 127.0.0.1 with a generated scrape config and a temporary
 * storage directory, queried with PromQL over its HTTP API, stopped by PID
 * with the directory removed. `stop()` is safe to call in every outcome.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

export interface ScrapeJob {
  readonly job: string;
  /** `host:port` of each target; loopback only. */
  readonly targets: readonly string[];
  /** Defaults to `/metrics`. */
  readonly metricsPath?: string;
}

export interface StartPrometheusOptions {
  readonly jobs: readonly ScrapeJob[];
  /** Scrape (and evaluation) interval; defaults to 1 s. */
  readonly scrapeIntervalSeconds?: number;
  /** How long to wait for `/-/ready`; defaults to 30 s. */
  readonly readyTimeoutMs?: number;
  readonly binary?: string;
}

/** One series of an instant-vector answer. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

interface TargetsAnswer {
  status: string;
  data?: { activeTargets: { scrapePool: string; scrapeUrl: string; health: string; lastError: string }[] };
}

const STDERR_KEPT_BYTES = 16 * 1024;
const STOP_GRACE_MS = 5000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (Prometheus cannot report a port it picked itself). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}

function scrapeConfig(jobs: readonly ScrapeJob[], intervalSeconds: number): string {
  const lines = [
    'global:',
    `  scrape_interval: ${intervalSeconds}s`,
    `  scrape_timeout: ${intervalSeconds}s`,
    `  evaluation_interval: ${intervalSeconds}s`,
    'scrape_configs:',
  ];
  for (const j of jobs) {
    for (const t of j.targets) {
      if (!/^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/.test(t))
        throw new Error(`scrape target ${t} is not on loopback`);
    }
    lines.push(`  - job_name: ${JSON.stringify(j.job)}`);
    lines.push(`    metrics_path: ${JSON.stringify(j.metricsPath ?? '/metrics')}`);
    lines.push('    static_configs:');
    lines.push(`      - targets: [${j.targets.map((t) => JSON.stringify(t)).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

export class PrometheusInstance {
  private stderr = '';
  private exited: Promise<void>;
  private exitCode: number | null | undefined;
  private stopped = false;

  constructor(
    private readonly child: ChildProcess,
    /** The temporary directory holding the config and the TSDB. */
    readonly dir: string,
    /** `http://127.0.0.1:<port>`. */
    readonly url: string,
  ) {
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString('utf8')).slice(-STDERR_KEPT_BYTES);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('prometheus has no pid');
    return this.child.pid;
  }

  /** The last lines Prometheus wrote, for failure messages. */
  logTail(): string {
    return this.stderr.split('\n').slice(-20).join('\n');
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Waits for `/-/ready`; fails with the log tail if Prometheus exits or the deadline passes. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(
          `prometheus exited with code ${String(this.exitCode)} before it was ready:\n${this.logTail()}`,
        );
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // Not listening yet: poll again.
      }
      await sleep(100);
    }
    throw new Error(`prometheus was not ready within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** An instant PromQL query; the result must be a vector. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`, {
      signal: AbortSignal.timeout(5000),
    });
    const answer = (await res.json()) as QueryAnswer;
    if (answer.status !== 'success' || answer.data === undefined) {
      throw new Error(`prometheus query ${promql} failed: ${answer.error ?? res.status}`);
    }
    if (answer.data.resultType !== 'vector')
      throw new Error(`prometheus query ${promql} gave a ${answer.data.resultType}, not a vector`);
    return answer.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /**
   * Repeats `query` until `accept` holds for its answer, or fails after
   * `timeoutMs` showing the last answer and the targets' scrape health.
   */
  async waitForQuery(
    promql: string,
    accept: (samples: PromSample[]) => boolean,
    timeoutMs = 20000,
  ): Promise<PromSample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] = [];
    while (Date.now() < deadline) {
      last = await this.query(promql);
      if (accept(last)) return last;
      await sleep(250);
    }
    const targets = await this.targets().catch((err: unknown) => String(err));
    throw new Error(
      `prometheus query ${promql} did not give the expected answer within ${timeoutMs} ms; last answer ${JSON.stringify(last)}; targets ${JSON.stringify(targets)}`,
    );
  }

  /** The active scrape targets with their health and last error. */
  async targets(): Promise<{ scrapePool: string; scrapeUrl: string; health: string; lastError: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(5000) });
    const answer = (await res.json()) as TargetsAnswer;
    return answer.data?.activeTargets ?? [];
  }

  /** Stops Prometheus by PID (SIGTERM, then SIGKILL after a grace period) and removes its directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      if (this.running && this.child.pid !== undefined) {
        process.kill(this.child.pid, 'SIGTERM');
        const graceful = await Promise.race([
          this.exited.then(() => true),
          sleep(STOP_GRACE_MS).then(() => false),
        ]);
        if (!graceful && this.running) {
          process.kill(this.child.pid, 'SIGKILL');
          await this.exited;
        }
      }
    } finally {
      await fs.rm(this.dir, { recursive: true, force: true });
    }
  }
}

/**
 * Starts Prometheus scraping `jobs` and resolves once it is ready. On any
 * failure it stops what it started before rethrowing.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusInstance> {
  const binary = options.binary ?? PROMETHEUS_BINARY;
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: run scripts/setup.sh (it installs the Debian prometheus package)`);
  }
  const interval = options.scrapeIntervalSeconds ?? 1;
  const config = scrapeConfig(options.jobs, interval);
  let lastError: unknown;
  // The port is picked before Prometheus binds it; another process may take it in between.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ambit-prometheus-'));
    const port = await freePort();
    let instance: PrometheusInstance | undefined;
    try {
      const configFile = path.join(dir, 'prometheus.yml');
      await fs.writeFile(configFile, config);
      const child = spawn(
        binary,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=info',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
      );
      instance = new PrometheusInstance(child, dir, `http://127.0.0.1:${port}`);
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      await instance.waitReady(options.readyTimeoutMs ?? 30000);
      return instance;
    } catch (err) {
      lastError = err;
      if (instance !== undefined) await instance.stop();
      else await fs.rm(dir, { recursive: true, force: true });
      if (!/address already in use/.test(String(err))) break;
    }
  }
  throw lastError;
}
