/**
 * Running the system tools the cluster is built with (`ip`, `sysctl`,
 * `nsenter`). Always argv, never a shell string, so names and addresses are
 * never interpreted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { ClusterError } from './errors.js';

/** The outcome of one finished command. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Bytes written to the command's stdin, then closed. */
  readonly input?: string;
  /** Kill the command (SIGKILL) after this long. */
  readonly timeoutMs?: number;
}

/** Default bound on any single setup command. */
export const COMMAND_TIMEOUT_MS = 15_000;

/** Runs argv[0] with the remaining arguments and collects its output. */
export function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new ClusterError('CLUSTER_COMMAND_FAILED', 'empty command line');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? COMMAND_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ClusterError('CLUSTER_COMMAND_FAILED', `${argv.join(' ')}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {
      // The command may exit before reading its input; its exit status says what happened.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command and fails with its stderr when it exits non-zero. */
export async function mustRun(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await runCommand(argv, options);
  if (r.code !== 0) {
    throw new ClusterError(
      'CLUSTER_COMMAND_FAILED',
      `${argv.join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return r.stdout;
}

/**
 * The synchronous variant, for teardown from exit and signal handlers where
 * the event loop may not run again.
 */
export function runCommandSync(argv: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): CommandResult {
  const [file, ...args] = argv;
  if (file === undefined) throw new ClusterError('CLUSTER_COMMAND_FAILED', 'empty command line');
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error !== undefined) {
    throw new ClusterError('CLUSTER_COMMAND_FAILED', `${argv.join(' ')}: ${r.error.message}`, { cause: r.error });
  }
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
