/**
 * One deadline for an asynchronous operation that owns resources: the
 * operation gets an `AbortSignal` that fires when the deadline passes (or a
 * parent signal aborts), and a value that arrives after the caller gave up
 * is handed to `dispose`, so a late socket is closed instead of leaking.
 */

export interface DeadlineOptions<T> {
  /** Milliseconds before the signal aborts and the promise rejects. */
  readonly timeoutMs: number;
  /** The error the caller sees when the deadline passes (says what and where). */
  readonly timeoutError: () => Error;
  /** Aborts the operation too (a client that went away, a closing listener). */
  readonly parent?: AbortSignal;
  /** Releases a value that arrived after the deadline or the parent's abort. */
  readonly dispose?: (late: T) => void;
}

/**
 * Runs `run(signal)` under a deadline. Settles exactly once: with the
 * operation's value, its error, the timeout error, or the parent's abort
 * reason. The timer never outlives the call.
 */
export function withDeadline<T>(options: DeadlineOptions<T>, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const { parent } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => giveUp(options.timeoutError()), options.timeoutMs);
    const onParentAbort = (): void => giveUp(abortReason(parent));
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
      return true;
    };
    const giveUp = (err: Error): void => {
      if (!settle()) return;
      controller.abort(err);
      reject(err);
    };
    if (parent?.aborted) {
      giveUp(abortReason(parent));
    } else {
      parent?.addEventListener('abort', onParentAbort, { once: true });
    }
    let running: Promise<T>;
    try {
      running = run(controller.signal);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (value) => {
        if (settle()) resolve(value);
        else if (options.dispose) disposeQuietly(options.dispose, value);
      },
      (err: unknown) => {
        if (settle()) reject(err);
      },
    );
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('operation aborted');
}

function disposeQuietly<T>(dispose: (late: T) => void, value: T): void {
  try {
    dispose(value);
  } catch {
    // A disposer that fails has nothing left to release; the caller already moved on.
  }
}
