/**
 * Bounds how many large pushes (full syncs) are in flight at once, as
 * istiod's PILOT_PUSH_THROTTLE does. A full Address sync is megabytes, held
 * encoded and framed until the transport takes it; when a hundred agents
 * reconnect together, an unbounded server would hold a hundred of them.
 * Small incremental pushes never wait here.
 */
export class PushThrottle {
  private active = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Takes a slot, or registers `onAvailable` to be called once one frees up. */
  tryAcquire(onAvailable: () => void): boolean {
    if (this.active < this.limit) {
      this.waiters.delete(onAvailable);
      this.active++;
      return true;
    }
    this.waiters.add(onAvailable);
    return false;
  }

  release(): void {
    this.active = Math.max(0, this.active - 1);
    const next = this.waiters.values().next();
    if (!next.done) {
      this.waiters.delete(next.value);
      next.value();
    }
  }

  /** Forgets a waiter (its connection is gone). */
  cancel(onAvailable: () => void): void {
    this.waiters.delete(onAvailable);
  }
}
