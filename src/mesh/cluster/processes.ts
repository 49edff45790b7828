/**
 * Starting processes inside a cluster namespace and cgroup, and stopping
 * them by PID. The launcher is a fixed `sh` script that receives the cgroup,
 * the namespace and the command as separate arguments: it moves itself into
 * the cgroup before it execs, so the command and all its children are
 * accounted (and killable) there from their first instruction.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import { ClusterError } from './errors.js';
import { COMMAND_TIMEOUT_MS, type CommandResult } from './command.js';

/** Where a process runs: a network namespace path and a cgroup v2 directory. */
export interface Placement {
  readonly netnsPath: string;
  readonly cgroup: string;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdio?: StdioOptions;
  readonly cwd?: string;
  /** Start it in its own process group and let it outlive this process (for `ambit mesh up`). */
  readonly detached?: boolean;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process started in the cluster. */
export interface ClusterProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly argv: readonly string[];
  readonly cgroup: string;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>;
}

// $1 = cgroup.procs file, $2 = netns path, the rest = the command.
const LAUNCHER = 'echo $$ > "$1" || exit 126; ns=$2; shift 2; exec nsenter --net="$ns" -- "$@"';
/** Exit status of the launcher when it could not join the cgroup. */
export const LAUNCH_FAILED_EXIT = 126;

function launcherArgv(where: Placement, argv: readonly string[]): string[] {
  if (argv.length === 0) throw new ClusterError('CLUSTER_COMMAND_FAILED', 'empty command line');
  return ['-c', LAUNCHER, 'ambit-launch', join(where.cgroup, 'cgroup.procs'), where.netnsPath, ...argv];
}

/** Starts argv inside the placement; the returned PID is the command's own (sh and nsenter exec). */
export function spawnIn(where: Placement, argv: readonly string[], options: SpawnOptions = {}): ClusterProcess {
  const child = spawn('sh', launcherArgv(where, argv), {
    env: options.env ?? process.env,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    detached: options.detached ?? false,
  });
  if (options.detached === true) child.unref();
  if (child.pid === undefined) {
    throw new ClusterError('CLUSTER_COMMAND_FAILED', `cannot start ${argv.join(' ')} in ${where.netnsPath}`);
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
    } else {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }
  });
  return { pid: child.pid, child, argv: [...argv], cgroup: where.cgroup, exited };
}

/** Runs argv inside the placement to completion and collects its output. */
export function execIn(
  where: Placement,
  argv: readonly string[],
  options: { readonly input?: string; readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  const p = spawnIn(where, argv, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.child.stdout?.on('data', (b: Buffer) => out.push(b));
  p.child.stderr?.on('data', (b: Buffer) => err.push(b));
  p.child.stdin?.on('error', () => {
    // The command may exit without reading its input.
  });
  p.child.stdin?.end(options.input ?? '');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  return new Promise((resolve) => {
    p.child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a process: SIGTERM, then SIGKILL after graceMs. With the
 * ClusterProcess the wait is on its exit event; with a bare PID (a process
 * another run started) it polls until the PID is gone.
 */
export async function stopProcess(target: ClusterProcess | number, graceMs = 2_000): Promise<void> {
  const pid = typeof target === 'number' ? target : target.pid;
  const gone =
    typeof target === 'number'
      ? async (ms: number): Promise<boolean> => {
          const deadline = Date.now() + ms;
          while (Date.now() < deadline) {
            if (!alive(pid)) return true;
            await new Promise((r) => setTimeout(r, 20));
          }
          return !alive(pid);
        }
      : async (ms: number): Promise<boolean> => {
          let timer: NodeJS.Timeout | undefined;
          const done = await Promise.race([
            target.exited.then(() => true),
            new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
          ]);
          clearTimeout(timer);
          return done;
        };
  const send = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // Already exited.
    }
  };
  if (typeof target !== 'number' && (target.child.exitCode !== null || target.child.signalCode !== null)) return;
  send('SIGTERM');
  if (await gone(graceMs)) return;
  send('SIGKILL');
  if (!(await gone(graceMs))) {
    throw new ClusterError('CLUSTER_COMMAND_FAILED', `process ${pid} survived SIGKILL for ${graceMs} ms`);
  }
}
