/**
 * A global guard over the long-lived processes a test relies on (istiod, the
 * node agents): a test during which a watched process exits without the test
 * saying it stopped it on purpose fails, naming the process and the end of
 * its log. Loaded as a mocha root hook plugin (`.mocharc.json` `require`), so
 * every suite gets it; suites opt processes in with `processGuard.watch()`.
 *
 *   processGuard.watch(pid, 'agent node0', logFile);   // must stay up
 *   processGuard.expectExit(pid);                      // "I kill this one"
 *   processGuard.release(pid);                         // handed back (before teardown)
 *
 * The processes are detached (not this process's children), so their exit is
 * seen by polling /proc; the start time recorded at `watch` tells a reused
 * PID from the watched process, and a zombie counts as exited.
 */
import { readFileSync } from 'node:fs';

/** How often the watched processes are looked at while a test runs. */
export const GUARD_POLL_MS = 100;
/** Lines of a dead process's log quoted in the failure. */
const LOG_TAIL_LINES = 15;

interface Watched {
  readonly pid: number;
  readonly label: string;
  readonly log: string | undefined;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
  readonly startTicks: string;
}

/** A watched process found gone without `expectExit`. */
export interface UnexpectedExit {
  readonly pid: number;
  readonly label: string;
  readonly log: string | undefined;
  /** When the guard first saw it gone (ms since the epoch). */
  readonly seenAtMs: number;
}

export class ProcessGuardError extends Error {
  readonly code = 'PROCESS_GUARD_UNEXPECTED_EXIT';
  readonly exits: readonly UnexpectedExit[];

  /** `testFailure`: what the test itself threw, often a consequence of the exit. */
  constructor(exits: readonly UnexpectedExit[], testFailure?: { readonly error: unknown }) {
    const also = testFailure === undefined ? '' : `\n  the test also failed: ${testFailure.error instanceof Error ? testFailure.error.message : String(testFailure.error)}`;
    super(exits.map(describeExit).join('\n') + also, testFailure === undefined ? undefined : { cause: testFailure.error });
    this.name = 'ProcessGuardError';
    this.exits = exits;
  }
}

function describeExit(e: UnexpectedExit): string {
  let tail = '';
  if (e.log !== undefined) {
    try {
      const lines = readFileSync(e.log, 'utf8').trimEnd().split('\n');
      tail = `\n  last lines of ${e.log}:\n    ${lines.slice(-LOG_TAIL_LINES).join('\n    ')}`;
    } catch (err) {
      tail = ` (log ${e.log} unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
  }
  return `${e.label} (pid ${e.pid}) exited unexpectedly at ${new Date(e.seenAtMs).toISOString()}${tail}`;
}

/** Start time and state of a PID, or undefined when there is no such process. */
function procStat(pid: number): { startTicks: string; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  return { state: fields[0] ?? '?', startTicks: fields[19] ?? '' };
}

/** Whether `pid` is still the process whose start time is `startTicks` (a zombie is not). */
export function sameProcessAlive(pid: number, startTicks: string): boolean {
  const s = procStat(pid);
  return s !== undefined && s.startTicks === startTicks && s.state !== 'Z' && s.state !== 'X';
}

export class ProcessGuard {
  private readonly watched = new Map<number, Watched>();
  private readonly pending: UnexpectedExit[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Watches `pid`: its exit fails the running (or next) test unless `expectExit` came first. */
  watch(pid: number, label: string, log?: string): void {
    const s = procStat(pid);
    if (s === undefined || s.state === 'Z') {
      this.pending.push({ pid, label, log, seenAtMs: Date.now() });
      return;
    }
    this.watched.set(pid, { pid, label, log, startTicks: s.startTicks });
    this.timer ??= setInterval(() => this.poll(), GUARD_POLL_MS).unref();
  }

  /** The caller is about to stop `pid` on purpose: its exit is not a failure. */
  expectExit(pid: number): void {
    this.forget(pid);
  }

  /** Stops watching `pid` (e.g. before a teardown stops it). */
  release(pid: number): void {
    this.forget(pid);
  }

  /** Whether `pid` is watched now. */
  isWatched(pid: number): boolean {
    return this.watched.has(pid);
  }

  /** Looks at every watched process once; the exited ones move to the pending failures. */
  poll(): void {
    for (const w of [...this.watched.values()]) {
      if (sameProcessAlive(w.pid, w.startTicks)) continue;
      this.forget(w.pid);
      this.pending.push({ pid: w.pid, label: w.label, log: w.log, seenAtMs: Date.now() });
    }
  }

  /** Polls, then returns and clears the unexpected exits seen so far. */
  takeUnexpected(): UnexpectedExit[] {
    this.poll();
    return this.pending.splice(0, this.pending.length);
  }

  /** Throws a ProcessGuardError when a watched process exited unexpectedly. */
  check(): void {
    const exits = this.takeUnexpected();
    if (exits.length > 0) throw new ProcessGuardError(exits);
  }

  private forget(pid: number): void {
    this.watched.delete(pid);
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** The one guard every suite shares (the root hooks check it). */
export const processGuard = new ProcessGuard();

type TestFn = (this: Mocha.Context, done?: Mocha.Done) => unknown;
const GUARDED = Symbol('process-guard');

/**
 * Makes the test's own function end with a guard check, so an unexpected
 * exit fails the test itself (a failing afterEach hook would instead skip the
 * rest of the suite). Keeps the function's arity: mocha reads it to tell
 * callback tests from the others.
 */
function guardTest(test: Mocha.Test): void {
  const original = test.fn as (TestFn & { [GUARDED]?: true }) | undefined;
  if (original === undefined || original[GUARDED] === true) return;
  let wrapped: TestFn & { [GUARDED]?: true };
  if (original.length > 0) {
    wrapped = function (this: Mocha.Context, done?: Mocha.Done): unknown {
      return original.call(this, (err?: unknown) => {
        if (err !== undefined && err !== null) return done?.(err);
        try {
          processGuard.check();
        } catch (guardErr) {
          return done?.(guardErr);
        }
        return done?.();
      });
    };
  } else {
    wrapped = async function (this: Mocha.Context): Promise<void> {
      let failure: { readonly error: unknown } | undefined;
      try {
        await original.call(this);
      } catch (error) {
        failure = { error };
      }
      // A test's own failure is often caused by the exit: report both.
      const exits = processGuard.takeUnexpected();
      if (exits.length > 0) throw new ProcessGuardError(exits, failure);
      if (failure !== undefined) throw failure.error;
    };
  }
  wrapped[GUARDED] = true;
  test.fn = wrapped as Mocha.Func;
}

/** The mocha root hooks (`export const mochaHooks` is mocha's plugin contract). */
export const mochaHooks = {
  beforeEach(this: Mocha.Context): void {
    if (this.currentTest !== undefined) guardTest(this.currentTest);
  },
  afterAll(): void {
    // Exits seen after the last test (in after hooks) still fail the run.
    processGuard.check();
  },
};
