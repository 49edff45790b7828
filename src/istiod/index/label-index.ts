/**
 * Finds labelled objects by selector without scanning them all: each object
 * is filed under every "key=value" pair it carries, and a selector looks in
 * the smallest bucket among its own pairs, then checks the rest.
 */
import { selectsNonEmpty, type Labels } from './labels.js';

export interface LabelledEntry<K extends string> {
  readonly namespace: string;
  readonly kind: K;
  readonly labels: Labels;
}

export class LabelIndex<K extends string> {
  private readonly entries = new Map<string, LabelledEntry<K>>();
  private readonly byPair = new Map<string, Set<string>>();
  private readonly byNamespace = new Map<string, Set<string>>();

  get(key: string): LabelledEntry<K> | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: LabelledEntry<K>): void {
    this.delete(key);
    this.entries.set(key, entry);
    for (const k in entry.labels) addTo(this.byPair, `${k}=${entry.labels[k]}`, key);
    addTo(this.byNamespace, entry.namespace, key);
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    for (const k in old.labels) removeFrom(this.byPair, `${k}=${old.labels[k]}`, key);
    removeFrom(this.byNamespace, old.namespace, key);
  }

  /** Keys in a namespace (all namespaces when undefined), optionally of some kinds. */
  inNamespace(namespace: string | undefined, kinds?: ReadonlySet<K>): string[] {
    const keys =
      namespace === undefined ? this.entries.keys() : (this.byNamespace.get(namespace) ?? new Set<string>());
    const out: string[] = [];
    for (const key of keys) {
      if (kinds === undefined || kinds.has((this.entries.get(key) as LabelledEntry<K>).kind)) out.push(key);
    }
    return out;
  }

  /** Keys whose labels contain every pair of a non-empty selector (none for an empty one). */
  select(selector: Labels | undefined, namespace: string | undefined, kinds?: ReadonlySet<K>): string[] {
    if (selector === undefined) return [];
    let smallest: Set<string> | undefined;
    for (const k in selector) {
      const bucket = this.byPair.get(`${k}=${selector[k]}`);
      if (bucket === undefined) return [];
      if (smallest === undefined || bucket.size < smallest.size) smallest = bucket;
    }
    if (smallest === undefined) return [];
    const out: string[] = [];
    for (const key of smallest) {
      const e = this.entries.get(key) as LabelledEntry<K>;
      if (namespace !== undefined && e.namespace !== namespace) continue;
      if (kinds !== undefined && !kinds.has(e.kind)) continue;
      if (selectsNonEmpty(selector, e.labels)) out.push(key);
    }
    return out;
  }
}

export function addTo<V>(m: Map<string, Set<V>>, key: string, value: V): void {
  let s = m.get(key);
  if (s === undefined) {
    s = new Set();
    m.set(key, s);
  }
  s.add(value);
}

export function removeFrom<V>(m: Map<string, Set<V>>, key: string, value: V): void {
  const s = m.get(key);
  if (s === undefined) return;
  s.delete(value);
  if (s.size === 0) m.delete(key);
}
