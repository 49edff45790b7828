/**
 * An in-memory XdsResourceSource for tests and benches: put bytes under a
 * name (with aliases), delete them, and batch changes into one notification.
 */
import { createHash } from 'node:crypto';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  type ResourceChange,
  type XdsResource,
  type XdsResourceSource,
} from '../../src/istiod/xds/resource-source.js';

type Listener = (changes: readonly ResourceChange[]) => void;

export class InMemoryResourceSource implements XdsResourceSource {
  readonly typeUrls: readonly string[];
  private readonly byType = new Map<string, Map<string, XdsResource>>();
  private readonly aliasIndex = new Map<string, Map<string, string>>();
  private readonly listeners = new Set<Listener>();
  private pending: Map<string, { updated: Set<string>; removed: Set<string> }> | undefined;

  constructor(typeUrls: readonly string[] = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]) {
    this.typeUrls = typeUrls;
    for (const t of typeUrls) {
      this.byType.set(t, new Map());
      this.aliasIndex.set(t, new Map());
    }
  }

  resources(typeUrl: string): ReadonlyMap<string, XdsResource> {
    return this.byType.get(typeUrl) ?? new Map();
  }

  find(typeUrl: string, name: string): XdsResource | undefined {
    const map = this.byType.get(typeUrl);
    if (map === undefined) return undefined;
    const direct = map.get(name);
    if (direct !== undefined) return direct;
    const target = this.aliasIndex.get(typeUrl)?.get(name);
    return target === undefined ? undefined : map.get(target);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Adds or replaces a resource; identical bytes and aliases are a no-op. Returns the stored resource. */
  set(
    typeUrl: string,
    name: string,
    value: Uint8Array | string,
    aliases: readonly string[] = [],
  ): XdsResource {
    const map = this.typeMap(typeUrl);
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    const version = createHash('sha256').update(bytes).update(aliases.join('\0')).digest('hex').slice(0, 16);
    const previous = map.get(name);
    if (previous !== undefined && previous.version === version) return previous;
    const aliasMap = this.aliasIndex.get(typeUrl) as Map<string, string>;
    for (const a of previous?.aliases ?? []) if (aliasMap.get(a) === name) aliasMap.delete(a);
    const resource: XdsResource = { name, version, value: bytes, aliases: [...aliases] };
    map.set(name, resource);
    for (const a of aliases) aliasMap.set(a, name);
    this.record(typeUrl, name, 'updated');
    return resource;
  }

  /** Removes a resource; returns whether it existed. */
  delete(typeUrl: string, name: string): boolean {
    const map = this.typeMap(typeUrl);
    const previous = map.get(name);
    if (previous === undefined) return false;
    map.delete(name);
    const aliasMap = this.aliasIndex.get(typeUrl) as Map<string, string>;
    for (const a of previous.aliases ?? []) if (aliasMap.get(a) === name) aliasMap.delete(a);
    this.record(typeUrl, name, 'removed');
    return true;
  }

  /** Applies every change made in `fn`, then notifies once. */
  batch(fn: () => void): void {
    if (this.pending !== undefined) {
      fn();
      return;
    }
    this.pending = new Map();
    try {
      fn();
    } finally {
      const pending = this.pending;
      this.pending = undefined;
      const changes: ResourceChange[] = [...pending].map(([typeUrl, c]) => ({
        typeUrl,
        updated: [...c.updated],
        removed: [...c.removed],
      }));
      if (changes.length > 0) this.emit(changes);
    }
  }

  private record(typeUrl: string, name: string, kind: 'updated' | 'removed'): void {
    if (this.pending === undefined) {
      this.emit([
        { typeUrl, updated: kind === 'updated' ? [name] : [], removed: kind === 'removed' ? [name] : [] },
      ]);
      return;
    }
    let entry = this.pending.get(typeUrl);
    if (entry === undefined) {
      entry = { updated: new Set(), removed: new Set() };
      this.pending.set(typeUrl, entry);
    }
    (kind === 'updated' ? entry.removed : entry.updated).delete(name);
    entry[kind].add(name);
  }

  private emit(changes: readonly ResourceChange[]): void {
    for (const l of [...this.listeners]) l(changes);
  }

  private typeMap(typeUrl: string): Map<string, XdsResource> {
    const map = this.byType.get(typeUrl);
    if (map === undefined) throw new Error(`in-memory source does not serve ${typeUrl}`);
    return map;
  }
}
