/**
 * The served resources of one type URL: encoded bytes by name, content-hash
 * versions, alias lookup, and a record of which names a batch really changed
 * (bytes compared with what was served before the batch).
 */
import { createHash } from 'node:crypto';
import type { ResourceChange, XdsResource } from '../xds/resource-source.js';
import { addTo, removeFrom } from './label-index.js';

export class ResourceTable {
  private readonly byName = new Map<string, XdsResource>();
  private readonly byAlias = new Map<string, Set<string>>();
  /** Bytes served before the current batch, per name touched in it. */
  private before: Map<string, Uint8Array | undefined> | undefined;

  constructor(readonly typeUrl: string) {}

  get all(): ReadonlyMap<string, XdsResource> {
    return this.byName;
  }

  /** Names of the resources carrying an alias (several workloads may share an IP). */
  namesForAlias(alias: string): ReadonlySet<string> {
    return this.byAlias.get(alias) ?? new Set();
  }

  /** A resource by name, else the first one carrying that alias. */
  find(nameOrAlias: string): XdsResource | undefined {
    const direct = this.byName.get(nameOrAlias);
    if (direct !== undefined) return direct;
    for (const n of this.namesForAlias(nameOrAlias)) return this.byName.get(n);
    return undefined;
  }

  /** Serves `bytes` under `name`; identical bytes keep the current resource (and version). */
  put(name: string, bytes: Uint8Array, aliases: readonly string[] = []): XdsResource {
    const prev = this.byName.get(name);
    if (prev !== undefined && equalBytes(prev.value, bytes)) return prev;
    this.note(name, prev);
    for (const a of prev?.aliases ?? []) removeFrom(this.byAlias, a, name);
    const resource: XdsResource = {
      name,
      version: contentVersion(bytes),
      value: bytes,
      ...(aliases.length > 0 ? { aliases } : {}),
    };
    this.byName.set(name, resource);
    for (const a of aliases) addTo(this.byAlias, a, name);
    return resource;
  }

  remove(name: string): void {
    const prev = this.byName.get(name);
    if (prev === undefined) return;
    this.note(name, prev);
    for (const a of prev.aliases ?? []) removeFrom(this.byAlias, a, name);
    this.byName.delete(name);
  }

  /** Starts recording a batch. */
  begin(): void {
    this.before = new Map();
  }

  /** Ends the batch: names whose bytes differ from before it (sorted), and names gone. */
  end(): ResourceChange {
    const before = this.before ?? new Map<string, Uint8Array | undefined>();
    this.before = undefined;
    const updated: string[] = [];
    const removed: string[] = [];
    for (const [name, old] of before) {
      const cur = this.byName.get(name);
      if (cur === undefined) {
        if (old !== undefined) removed.push(name);
      } else if (old === undefined || !equalBytes(old, cur.value)) {
        updated.push(name);
      }
    }
    return { typeUrl: this.typeUrl, updated: updated.sort(), removed: removed.sort() };
  }

  private note(name: string, prev: XdsResource | undefined): void {
    if (this.before !== undefined && !this.before.has(name)) this.before.set(name, prev?.value);
  }
}

/** A short content hash: equal bytes, equal version. */
export function contentVersion(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
