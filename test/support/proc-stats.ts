/**
 * What a process holds, read from /proc: open file descriptors and resident
 * memory, for leak ceilings around a soak.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessFootprint {
  readonly fds: number;
  readonly rssBytes: number;
}

/** Open descriptors of `pid` (entries of /proc/PID/fd). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of `pid` in bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(m[1]) * 1024;
}

export function footprint(pid: number): ProcessFootprint {
  return { fds: fdCount(pid), rssBytes: rssBytes(pid) };
}

export function formatFootprint(f: ProcessFootprint): string {
  return `${f.fds} fds, ${(f.rssBytes / (1024 * 1024)).toFixed(1)} MiB RSS`;
}
