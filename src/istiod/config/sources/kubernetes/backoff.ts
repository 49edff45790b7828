/**
 * Bounded, jittered exponential backoff for list/watch retries. Each failure
 * doubles the base delay up to `maxMs`; the actual wait is drawn uniformly
 * from [base * (1 - jitter), base], so many informers restarting together
 * after an API server outage do not retry in lock-step.
 */

export interface BackoffOptions {
  /** First delay after a failure. */
  readonly initialMs: number;
  /** Upper bound of the base delay. */
  readonly maxMs: number;
  /** Fraction of the base delay that is randomised away, 0..1. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 30_000, jitter: 0.5 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures since the last reset. */
  get failures(): number {
    return this.attempt;
  }

  /** The delay to wait before the next attempt; counts one more failure. */
  next(): number {
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jitter = Math.min(1, Math.max(0, this.options.jitter));
    return Math.round(base * (1 - jitter * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
