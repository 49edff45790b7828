/**
 * Reconnect delays: exponential with jitter, as ztunnel's xDS client (10 ms
 * doubling to 15 s). The jitter keeps a fleet of agents from reconnecting in
 * step after istiod restarts.
 */
import { XdsClientError } from './errors.js';

export const DEFAULT_INITIAL_BACKOFF_MS = 10;
export const DEFAULT_MAX_BACKOFF_MS = 15_000;

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** Uniform in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private baseMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxMs = options.maxMs ?? DEFAULT_MAX_BACKOFF_MS;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) {
      throw new XdsClientError(
        'XDS_CLIENT_INVALID_OPTION',
        `backoff: initialMs ${this.initialMs} must be > 0 and maxMs ${this.maxMs} at least initialMs`,
      );
    }
    this.random = options.random ?? Math.random;
    this.baseMs = this.initialMs;
  }

  /** The next delay: the current base, jittered to [base/2, base*1.5), never above maxMs; then the base doubles. */
  next(): number {
    const delay = Math.min(this.maxMs, Math.round(this.baseMs * (0.5 + this.random())));
    this.baseMs = Math.min(this.maxMs, this.baseMs * 2);
    return delay;
  }

  /** Back to the initial delay (after a stream that worked). */
  reset(): void {
    this.baseMs = this.initialMs;
  }
}
