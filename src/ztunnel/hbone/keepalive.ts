/**
 * HTTP/2 PING keepalive for one HBONE session, as ztunnel's `do_ping_pong`:
 * the first PING after one interval, the next one interval after its PONG,
 * and a PING unanswered within the timeout declares the peer dead. One PING
 * is outstanding at a time. Both timers belong to this object and stop with
 * the session: nothing is ever sent on a session that is closed or destroyed,
 * and no callback can throw into the event loop.
 */
import type { Http2Session } from 'node:http2';

/** ztunnel `src/proxy/h2.rs`: PING_INTERVAL = 10 s, PING_TIMEOUT = 20 s. */
export const HBONE_PING_INTERVAL_MS = 10_000;
export const HBONE_PING_TIMEOUT_MS = 20_000;

export interface KeepaliveOptions {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

/** Why a keepalive gave up on its session. */
export type KeepaliveFailure = 'ping_timeout' | 'ping_failed';

export class SessionKeepalive {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private next: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private stopped = false;

  /**
   * Starts pinging `session`; `onDead` is called at most once, after which
   * the keepalive is stopped. The keepalive stops by itself on the session's
   * `close`.
   */
  constructor(
    private readonly session: Http2Session,
    private readonly onDead: (failure: KeepaliveFailure, err: Error | undefined) => void,
    options: KeepaliveOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? HBONE_PING_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? HBONE_PING_TIMEOUT_MS;
    session.once('close', () => this.stop());
    this.schedule();
  }

  /** Clears both timers; idempotent. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.next);
    clearTimeout(this.deadline);
    this.next = undefined;
    this.deadline = undefined;
  }

  private get usable(): boolean {
    return !this.stopped && !this.session.destroyed && !this.session.closed;
  }

  private schedule(): void {
    if (!this.usable) return;
    this.next = setTimeout(() => this.ping(), this.intervalMs);
    this.next.unref();
  }

  private ping(): void {
    this.next = undefined;
    if (!this.usable) {
      this.stop();
      return;
    }
    this.deadline = setTimeout(() => this.fail('ping_timeout', undefined), this.timeoutMs);
    this.deadline.unref();
    let sent: boolean;
    try {
      sent = this.session.ping((err) => {
        clearTimeout(this.deadline);
        this.deadline = undefined;
        // A session closing under an outstanding PING cancels it: not a failure of the peer.
        if (err !== null && err !== undefined) {
          if (this.usable) this.fail('ping_failed', err);
          return;
        }
        this.schedule();
      });
    } catch (err) {
      // The session went away between the check and the call.
      this.fail('ping_failed', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    // Too many PINGs outstanding (Node's limit): the peer has not answered earlier ones.
    if (!sent) this.fail('ping_failed', new Error('too many outstanding pings'));
  }

  private fail(failure: KeepaliveFailure, err: Error | undefined): void {
    if (this.stopped) return;
    this.stop();
    this.onDead(failure, err);
  }
}
