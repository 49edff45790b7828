/**
 * Several resource sources served as one: the ambient index (addresses,
 * authorizations) next to the waypoints' compiled L7 configuration. Each
 * type URL belongs to exactly one source; a second source claiming a type
 * is a programming error caught at construction.
 */
import type { ResourceChange, XdsResource, XdsResourceSource } from './resource-source.js';

const NOTHING: ReadonlyMap<string, XdsResource> = new Map();

export class CompositeSource implements XdsResourceSource {
  readonly typeUrls: readonly string[];
  private readonly byType = new Map<string, XdsResourceSource>();
  private readonly sources: readonly XdsResourceSource[];

  constructor(sources: readonly XdsResourceSource[]) {
    this.sources = sources;
    for (const source of sources) {
      for (const typeUrl of source.typeUrls) {
        if (this.byType.has(typeUrl)) throw new Error(`two xds resource sources serve ${typeUrl}`);
        this.byType.set(typeUrl, source);
      }
    }
    this.typeUrls = [...this.byType.keys()];
  }

  resources(typeUrl: string): ReadonlyMap<string, XdsResource> {
    return this.byType.get(typeUrl)?.resources(typeUrl) ?? NOTHING;
  }

  find(typeUrl: string, name: string): XdsResource | undefined {
    return this.byType.get(typeUrl)?.find(typeUrl, name);
  }

  onChange(listener: (changes: readonly ResourceChange[]) => void): () => void {
    const offs = this.sources.map((s) => s.onChange(listener));
    return () => {
      for (const off of offs) off();
    };
  }
}
