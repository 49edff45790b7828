/**
 * Traffic that flows while faults are injected, run by small node scripts
 * inside a pod's namespace and cgroup (so the mesh captures it):
 *
 * - `ConnectionLoop`: a new HTTP connection every `everyMs`, each outcome a
 *   JSON line (start time, ok, duration, error code);
 * - `HeldConnections`: long-lived TCP connections to an echo server, writing
 *   a byte every `everyMs`, each echo and the way each connection ended (RST,
 *   FIN) a JSON line — to tell an RST from a hang and time it.
 *
 * Both wait on the lines (events), never on sleeps.
 */
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { ClusterProcess, NetnsCluster } from '../../src/mesh/cluster/index.js';

const LOOP_SCRIPT = `
const net = require('node:net');
const [host, port, everyMs, timeoutMs, hostHeader] = process.argv.slice(1);
const request = 'GET / HTTP/1.1\\r\\nHost: ' + hostHeader + '\\r\\nConnection: close\\r\\n\\r\\n';
function once() {
  const t = Date.now();
  const s = net.connect({ host, port: Number(port) });
  const chunks = [];
  let done = false;
  const finish = (ok, err) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    s.destroy();
    process.stdout.write(JSON.stringify({ t, ok, ms: Date.now() - t, err }) + '\\n');
    setTimeout(once, Math.max(0, Number(everyMs) - (Date.now() - t)));
  };
  const timer = setTimeout(() => finish(false, 'timeout'), Number(timeoutMs));
  s.on('connect', () => s.write(request));
  s.on('data', (d) => chunks.push(d));
  s.on('end', () => {
    const text = Buffer.concat(chunks).toString();
    finish(text.startsWith('HTTP/1.1 200'), text.length === 0 ? 'empty' : text.startsWith('HTTP/1.1 200') ? undefined : 'status ' + text.slice(9, 12));
  });
  s.on('error', (e) => finish(false, e.code || e.message));
}
process.on('SIGTERM', () => process.exit(0));
once();
`;

const HOLD_SCRIPT = `
const net = require('node:net');
const [host, port, count, everyMs] = process.argv.slice(1);
const emit = (o) => process.stdout.write(JSON.stringify({ ...o, t: Date.now() }) + '\\n');
for (let id = 0; id < Number(count); id++) {
  const s = net.connect({ host, port: Number(port) });
  let ticker;
  let ended = false;
  const end = (how, err) => {
    clearInterval(ticker);
    if (ended) return;
    ended = true;
    emit({ ev: 'end', id, how, err });
  };
  s.on('connect', () => {
    emit({ ev: 'open', id });
    ticker = setInterval(() => s.write('p'), Number(everyMs));
  });
  s.on('data', () => emit({ ev: 'echo', id }));
  s.on('error', (e) => end('error', e.code || e.message));
  s.on('end', () => end('fin'));
  s.on('close', () => end('close'));
}
process.on('SIGTERM', () => process.exit(0));
`;

/** One connection of a ConnectionLoop. */
export interface Attempt {
  /** When it started (ms since the epoch). */
  readonly t: number;
  readonly ok: boolean;
  readonly ms: number;
  readonly err?: string;
}

function lines(p: ClusterProcess, onLine: (value: unknown) => void): void {
  if (p.child.stdout === null) throw new Error(`pid ${p.pid}: no stdout pipe`);
  createInterface({ input: p.child.stdout }).on('line', (line) => {
    try {
      onLine(JSON.parse(line));
    } catch {
      // Not one of the script's lines (e.g. a node warning): ignored.
    }
  });
}

async function waitOn<T>(events: EventEmitter, name: string, check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const first = check();
  if (first !== undefined) return first;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off(name, onEvent);
      reject(new Error(`${what}: not seen within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (): void => {
      let v: T | undefined;
      try {
        v = check();
      } catch (err) {
        clearTimeout(timer);
        events.off(name, onEvent);
        reject(err as Error);
        return;
      }
      if (v === undefined) return;
      clearTimeout(timer);
      events.off(name, onEvent);
      resolve(v);
    };
    events.on(name, onEvent);
  });
}

/** The longest time inside [fromMs, toMs] during which no attempt that started failed. */
export function outageFreeMs(attempts: readonly Attempt[], fromMs: number, toMs: number): number {
  const failures = attempts.filter((a) => !a.ok && a.t >= fromMs && a.t <= toMs).map((a) => a.t);
  const edges = [fromMs, ...failures, toMs];
  let best = 0;
  for (let i = 1; i < edges.length; i++) best = Math.max(best, edges[i]! - edges[i - 1]!);
  return best;
}

export class ConnectionLoop {
  readonly attempts: Attempt[] = [];
  private readonly events = new EventEmitter();

  private constructor(
    private readonly cluster: NetnsCluster,
    private readonly process: ClusterProcess,
  ) {
    lines(process, (v) => {
      this.attempts.push(v as Attempt);
      this.events.emit('attempt');
    });
  }

  /** Starts connecting from `pod` to `host:port` every `everyMs`, each attempt bounded by `timeoutMs`. */
  static start(cluster: NetnsCluster, pod: string, host: string, port: number, options: { everyMs?: number; timeoutMs?: number; hostHeader?: string } = {}): ConnectionLoop {
    const p = cluster.spawnInPod(pod, [
      process.execPath, '-e', LOOP_SCRIPT, host, String(port), String(options.everyMs ?? 100), String(options.timeoutMs ?? 5000), options.hostHeader ?? host,
    ]);
    return new ConnectionLoop(cluster, p);
  }

  /** Attempts that started in [fromMs, toMs]. */
  between(fromMs: number, toMs: number): Attempt[] {
    return this.attempts.filter((a) => a.t >= fromMs && a.t <= toMs);
  }

  /** Waits for an attempt that started at or after `afterMs` and matches `pred`. */
  waitFor(afterMs: number, pred: (a: Attempt) => boolean, timeoutMs: number, what: string): Promise<Attempt> {
    return waitOn(this.events, 'attempt', () => this.attempts.find((a) => a.t >= afterMs && pred(a)), timeoutMs, what);
  }

  /** Waits until `n` consecutive attempts started at or after `afterMs` succeeded; resolves with the first of them. */
  waitForRecovery(afterMs: number, n: number, timeoutMs: number, what: string): Promise<Attempt> {
    return waitOn(
      this.events,
      'attempt',
      () => {
        const run = this.attempts.filter((a) => a.t >= afterMs);
        for (let i = 0; i + n <= run.length; i++) if (run.slice(i, i + n).every((a) => a.ok)) return run[i];
        return undefined;
      },
      timeoutMs,
      what,
    );
  }

  async stop(): Promise<void> {
    await this.cluster.stopProcess(this.process.pid, 1000).catch(() => undefined);
  }
}

/** How a held connection ended, as the app saw it. */
export interface HeldEnd {
  readonly id: number;
  readonly t: number;
  /** 'error' (with `err`, e.g. ECONNRESET for an RST), 'fin' (orderly end) or 'close'. */
  readonly how: 'error' | 'fin' | 'close';
  readonly err?: string;
}

export class HeldConnections {
  readonly opened = new Set<number>();
  readonly lastEcho = new Map<number, number>();
  readonly ends = new Map<number, HeldEnd>();
  private readonly events = new EventEmitter();

  private constructor(
    private readonly cluster: NetnsCluster,
    private readonly process: ClusterProcess,
    readonly count: number,
  ) {
    lines(process, (v) => {
      const e = v as { ev: string; id: number; t: number; how?: HeldEnd['how']; err?: string };
      if (e.ev === 'open') this.opened.add(e.id);
      else if (e.ev === 'echo') this.lastEcho.set(e.id, e.t);
      else if (e.ev === 'end') this.ends.set(e.id, { id: e.id, t: e.t, how: e.how ?? 'close', ...(e.err !== undefined ? { err: e.err } : {}) });
      this.events.emit('line');
    });
  }

  /** Opens `count` connections from `pod` to `host:port` and resolves once each has echoed. */
  static async open(cluster: NetnsCluster, pod: string, host: string, port: number, count: number, everyMs = 250, timeoutMs = 15_000): Promise<HeldConnections> {
    const p = cluster.spawnInPod(pod, [process.execPath, '-e', HOLD_SCRIPT, host, String(port), String(count), String(everyMs)]);
    const held = new HeldConnections(cluster, p, count);
    try {
      await waitOn(
        held.events,
        'line',
        () => {
          if (held.ends.size > 0) throw new Error(`held connection ${[...held.ends.values()].map((e) => `${e.id} ${e.how} ${e.err ?? ''}`).join(', ')} ended before echoing`);
          return held.lastEcho.size === count ? true : undefined;
        },
        timeoutMs,
        `${count} held connections from ${pod} to ${host}:${port} echo`,
      );
    } catch (err) {
      await held.stop();
      throw err;
    }
    return held;
  }

  /** Whether every connection echoed at or after `afterMs` (none hangs, none ended). */
  allEchoedSince(afterMs: number): boolean {
    return [...Array(this.count).keys()].every((id) => !this.ends.has(id) && (this.lastEcho.get(id) ?? 0) >= afterMs);
  }

  /** Waits until every connection echoed after `afterMs`. */
  waitForEchoes(afterMs: number, timeoutMs: number, what: string): Promise<true> {
    return waitOn(this.events, 'line', () => (this.allEchoedSince(afterMs) ? true : undefined), timeoutMs, what);
  }

  /** Waits until every connection ended; fails naming the ones still hanging. */
  async waitAllEnded(timeoutMs: number, what: string): Promise<HeldEnd[]> {
    try {
      return await waitOn(this.events, 'line', () => (this.ends.size === this.count ? [...this.ends.values()] : undefined), timeoutMs, what);
    } catch (err) {
      const hanging = [...Array(this.count).keys()].filter((id) => !this.ends.has(id));
      throw new Error(`${(err as Error).message}; connections ${hanging.join(', ')} still open (last echo ${hanging.map((id) => new Date(this.lastEcho.get(id) ?? 0).toISOString()).join(', ')})`, {
        cause: err,
      });
    }
  }

  async stop(): Promise<void> {
    await this.cluster.stopProcess(this.process.pid, 1000).catch(() => undefined);
  }
}

/** Whether an app-side end is a reset (RST) rather than an orderly close. */
export function isReset(end: HeldEnd): boolean {
  return end.how === 'error' && (end.err === 'ECONNRESET' || end.err === 'EPIPE');
}
