/**
 * The one typed ConfigStore every istiod consumer reads and subscribes to.
 * Sources (the directory watcher, Kubernetes informers, tests) write into it;
 * it emits add/update/delete events synchronously after each change, in
 * order. A batch applies many changes and then notifies once per change.
 */
import {
  keyOf,
  type AnyConfigObject,
  type ConfigEvent,
  type ConfigKind,
  type ConfigObject,
} from './types.js';

export type ConfigListener = (events: readonly ConfigEvent[]) => void;

export class ConfigStore {
  private readonly objects = new Map<string, AnyConfigObject>();
  private readonly byKind = new Map<ConfigKind, Map<string, AnyConfigObject>>();
  private readonly listeners = new Set<ConfigListener>();
  private pending: ConfigEvent[] | null = null;
  private revision = 0;

  /** Increases by one on every change; consumers use it to tell snapshots apart. */
  get currentRevision(): number {
    return this.revision;
  }

  get size(): number {
    return this.objects.size;
  }

  /** Adds or replaces an object (by kind/namespace/name). Identical content is a no-op. */
  upsert(object: AnyConfigObject): void {
    const key = keyOf(object);
    const previous = this.objects.get(key);
    if (previous !== undefined && sameContent(previous, object)) return;
    this.objects.set(key, object);
    this.kindMap(object.kind).set(key, object);
    this.revision++;
    this.emit(previous === undefined ? { kind: 'add', object } : { kind: 'update', object, previous });
  }

  /** Removes an object; returns whether it existed. */
  delete(kind: ConfigKind, namespace: string, name: string): boolean {
    const key = `${kind}/${namespace}/${name}`;
    const object = this.objects.get(key);
    if (object === undefined) return false;
    this.objects.delete(key);
    this.kindMap(kind).delete(key);
    this.revision++;
    this.emit({ kind: 'delete', object });
    return true;
  }

  /** Applies every change made inside `fn`, then notifies listeners once with all of them. */
  batch(fn: () => void): void {
    if (this.pending !== null) {
      fn();
      return;
    }
    const events: ConfigEvent[] = [];
    this.pending = events;
    try {
      fn();
    } finally {
      this.pending = null;
    }
    if (events.length > 0) this.notify(events);
  }

  find<K extends ConfigKind>(kind: K, namespace: string, name: string): ConfigObject<K> | undefined {
    return this.objects.get(`${kind}/${namespace}/${name}`) as ConfigObject<K> | undefined;
  }

  list<K extends ConfigKind>(kind: K, namespace?: string): ConfigObject<K>[] {
    const all = [...(this.byKind.get(kind)?.values() ?? [])] as ConfigObject<K>[];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  all(): AnyConfigObject[] {
    return [...this.objects.values()];
  }

  /** Subscribes to changes; returns the function that unsubscribes. */
  subscribe(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private kindMap(kind: ConfigKind): Map<string, AnyConfigObject> {
    let m = this.byKind.get(kind);
    if (m === undefined) {
      m = new Map();
      this.byKind.set(kind, m);
    }
    return m;
  }

  private emit(event: ConfigEvent): void {
    if (this.pending !== null) this.pending.push(event);
    else this.notify([event]);
  }

  private notify(events: readonly ConfigEvent[]): void {
    for (const l of this.listeners) l(events);
  }
}

function sameContent(a: AnyConfigObject, b: AnyConfigObject): boolean {
  // The origin is bookkeeping, not content: moving an object between files is not a change.
  return (
    a.apiVersion === b.apiVersion &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata) &&
    JSON.stringify(a.spec) === JSON.stringify(b.spec) &&
    JSON.stringify(a.status) === JSON.stringify(b.status)
  );
}
