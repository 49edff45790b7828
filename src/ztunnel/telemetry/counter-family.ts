/**
 * Counters whose children are plain objects the hot path adds to directly.
 * prom-client hashes the whole label object on every `inc`, which for the
 * 23 traffic labels would cost a string build per chunk; here a connection
 * resolves its child once and pays one addition per chunk. The registered
 * prom-client metric copies the children in at scrape time.
 */
import { Counter, type Registry } from 'prom-client';

/** One label set's running total. `value` only grows. */
export interface CounterCell {
  value: number;
}

interface Child<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  readonly cell: CounterCell;
}

const KEY_SEPARATOR = '\u0000';

export class CounterFamily<L extends string> {
  private readonly children = new Map<string, Child<L>>();
  readonly metric: Counter<L>;

  constructor(
    registry: Registry,
    readonly name: string,
    help: string,
    readonly labelNames: readonly L[],
  ) {
    const children = this.children;
    this.metric = new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const child of children.values()) {
          // prom-client exposes a child only once it has been incremented.
          this.inc(child.labels, child.cell.value);
        }
      },
    });
  }

  /** The cell for a label set, created at zero on first use. */
  child(labels: Readonly<Record<L, string>>): CounterCell {
    let key = '';
    for (const n of this.labelNames) key += labels[n] + KEY_SEPARATOR;
    let child = this.children.get(key);
    if (child === undefined) {
      child = { labels: { ...labels }, cell: { value: 0 } };
      this.children.set(key, child);
    }
    return child.cell;
  }

  /** The current total of a label set (0 when never used): for tests and debug pages. */
  valueOf(labels: Readonly<Record<L, string>>): number {
    let key = '';
    for (const n of this.labelNames) key += labels[n] + KEY_SEPARATOR;
    return this.children.get(key)?.cell.value ?? 0;
  }
}
