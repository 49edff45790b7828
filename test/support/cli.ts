/**
 * Runs the ambit CLI from source (`node --import tsx src/cli/main.ts ...`) in a
 * child process, for tests that check what a command prints and how it exits.
 * Each run collects stdout and stderr, can feed stdin and replace the
 * environment, and is killed (SIGKILL) and rejected if it outlives its timeout.
 * A runner remembers the children still running so a test's `after`/`afterEach`
 * hook can end them with `killAll()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root; the default working directory of a run. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** How long a run may take unless the call says otherwise. */
export const DEFAULT_CLI_TIMEOUT_MS = 15_000;

export interface CliRunOptions {
  /** Written to the child's stdin, which is then closed; without it stdin is ignored. */
  readonly input?: string;
  /** The child's whole environment (as for `spawn`); defaults to this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child and reject after this many milliseconds; defaults to DEFAULT_CLI_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Working directory of the child; defaults to the repository root. */
  readonly cwd?: string;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class CliRunner {
  private readonly children = new Set<ChildProcess>();

  /** Runs `ambit <args...>` and resolves when it exits, whatever its exit code. */
  run(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
    const { input, env, timeoutMs = DEFAULT_CLI_TIMEOUT_MS, cwd = REPO_ROOT } = options;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
        cwd,
        env,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      this.children.add(child);
      if (input !== undefined) child.stdin?.end(input);
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`ambit ${args.join(' ')} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        this.children.delete(child);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /** Kills (SIGKILL) every child this runner started that is still running. */
  killAll(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    }
    this.children.clear();
  }
}
