/**
 * Minimal pods for capture tests: a network namespace, a cgroup v2 directory,
 * and a way to run a process inside both. Names are unique per run; `remove`
 * kills what it started (by PID) and deletes what it created.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';

/** Fails (never skips) when the test cannot create namespaces, cgroups or BPF links. */
export function requireCaptureHost(): void {
  if (process.getuid?.() !== 0) throw new Error('capture tests need root (netns, cgroups, BPF)');
  if (!fs.existsSync(path.join(CGROUP2_ROOT, 'cgroup.procs'))) throw new Error(`no cgroup v2 at ${CGROUP2_ROOT}`);
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function ipIn(netns: string, ...args: string[]): string {
  return ip('-n', netns, ...args);
}

export function runId(): string {
  return randomBytes(3).toString('hex');
}

/** Collects namespaces, cgroups and child processes for removal, failure included. */
export class TestWorld {
  readonly id = runId();
  private readonly netnses: string[] = [];
  private readonly cgroups: string[] = [];
  private readonly children = new Set<ChildProcess>();

  name(suffix: string): string {
    return `ambit-t${this.id}-${suffix}`;
  }

  addNetns(suffix: string): { name: string; path: string } {
    const name = this.name(suffix);
    ip('netns', 'add', name);
    this.netnses.push(name);
    ipIn(name, 'link', 'set', 'lo', 'up');
    return { name, path: `/var/run/netns/${name}` };
  }

  addCgroup(suffix: string): string {
    const dir = path.join(CGROUP2_ROOT, `ambit-test-${this.id}`, suffix);
    fs.mkdirSync(dir, { recursive: true });
    this.cgroups.push(dir);
    return dir;
  }

  /**
   * Runs `argv` inside the cgroup and netns: the shell puts itself in the
   * cgroup before exec, so every descendant is in it from the start.
   */
  spawnIn(cgroup: string, netns: string, argv: readonly string[]): ChildProcess {
    const child = spawn(
      'sh',
      ['-c', 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"', cgroup, netns, ...argv],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs to completion (bounded by timeoutMs) and returns exit code and output. */
  async runIn(
    cgroup: string,
    netns: string,
    argv: readonly string[],
    timeoutMs = 10_000,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = this.spawnIn(cgroup, netns, argv);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), timeoutMs);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async remove(): Promise<void> {
    for (const child of this.children) {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await new Promise((r) => setTimeout(r, 50));
    for (const name of this.netnses.splice(0)) {
      try {
        ip('netns', 'del', name);
      } catch {
        // deleted with its peer already
      }
    }
    for (const dir of this.cgroups.splice(0).reverse()) removeCgroup(dir);
    removeCgroup(path.join(CGROUP2_ROOT, `ambit-test-${this.id}`));
  }
}

function removeCgroup(dir: string): void {
  for (let attempt = 0; attempt < 50 && fs.existsSync(dir); attempt++) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // Processes take a moment to leave a cgroup after they are killed.
      execFileSync('sleep', ['0.05']);
    }
  }
}

/**
 * A Node one-liner for `runIn`: connects to host:port, sends "ping", half-closes,
 * and prints JSON `{ ok, data }` or `{ ok: false, code }`.
 */
export const TCP_CLIENT_JS = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const chunks = [];
const done = (r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); };
setTimeout(() => done({ ok: false, code: 'TIMEOUT' }), 3000);
s.on('connect', () => s.end('ping'));
s.on('data', (d) => chunks.push(d));
s.on('error', (e) => done({ ok: false, code: e.code || e.message }));
s.on('close', () => done({ ok: true, data: Buffer.concat(chunks).toString() }));
`;

export type ClientResult = { ok: true; data: string } | { ok: false; code: string };

export function parseClientResult(stdout: string, stderr: string): ClientResult {
  try {
    return JSON.parse(stdout) as ClientResult;
  } catch {
    return { ok: false, code: `no result (stderr: ${stderr.trim()})` };
  }
}
