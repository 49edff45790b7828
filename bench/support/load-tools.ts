/**
 * Reading what the load tools and the kernel report, for the data-plane
 * bench: wrk's text summary, iperf3's JSON, a process's CPU time and RSS
 * from /proc, and median/min/max over rounds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface WrkResult {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  /** connect + read + write + timeout errors, and non-2xx/3xx answers. */
  readonly errors: number;
}

const LATENCY_UNIT_US: Readonly<Record<string, number>> = { us: 1, ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000 };
const DURATION_UNIT_S: Readonly<Record<string, number>> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A wrk latency such as `617.00us`, `2.18ms` or `1.02s`, in microseconds. */
export function parseWrkLatencyUs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw new Error(`wrk latency "${text}" has no known unit`);
  return Number(m[1]) * LATENCY_UNIT_US[m[2]!]!;
}

function percentile(text: string, p: string): number {
  const m = new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, 'm').exec(text);
  if (m === null) throw new Error(`wrk output has no ${p}% latency line (was --latency given?)`);
  return parseWrkLatencyUs(m[1]!);
}

/** Reads `wrk --latency` output. */
export function parseWrk(text: string): WrkResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)/m.exec(text);
  if (total === null) throw new Error(`wrk output has no "N requests in T" line:\n${text}`);
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (rate === null) throw new Error(`wrk output has no Requests/sec line:\n${text}`);
  let errors = 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (socket !== null) errors += socket.slice(1, 5).reduce((a, v) => a + Number(v), 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx !== null) errors += Number(non2xx[1]);
  return {
    p50Us: percentile(text, '50'),
    p99Us: percentile(text, '99'),
    requests: Number(total[1]),
    durationSeconds: Number(total[2]) * DURATION_UNIT_S[total[3]!]!,
    requestsPerSecond: Number(rate[1]),
    errors,
  };
}

/** Receiver-side throughput of an `iperf3 -J` client run, in bits per second. */
export function parseIperf3BitsPerSecond(json: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`iperf3 -J output is not JSON: ${(err as Error).message}: ${json.slice(0, 200)}`, { cause: err });
  }
  const d = doc as { error?: unknown; end?: { sum_received?: { bits_per_second?: unknown } } };
  if (typeof d.error === 'string') throw new Error(`iperf3: ${d.error}`);
  const bps = d.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number' || !(bps > 0)) throw new Error('iperf3 -J output has no end.sum_received.bits_per_second');
  return bps;
}

/** Clock ticks per second for /proc/<pid>/stat times. */
export function clockTicksPerSecond(): number {
  const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return Number.isFinite(v) && v > 0 ? v : 100;
}

/** utime + stime (all threads) from a /proc/<pid>/stat line, in ticks. */
export function cpuTicksFromStat(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat line: ${stat.slice(0, 120)}`);
  return utime + stime;
}

/** VmRSS from a /proc/<pid>/status text, in bytes. */
export function rssBytesFromStatus(status: string): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (m === null) throw new Error('no VmRSS line in /proc status');
  return Number(m[1]) * 1024;
}

export function processCpuSeconds(pid: number, ticksPerSecond: number): number {
  return cpuTicksFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) / ticksPerSecond;
}

export function processRssBytes(pid: number): number {
  return rssBytesFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}
