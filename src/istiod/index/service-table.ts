/**
 * Which object owns each "<ns>/<hostname>": several Services and
 * ServiceEntries may declare the same name, one wins per namespace, and one
 * winner per hostname is canonical. Winners with a selector are filed by
 * namespace under one of their selector pairs, so a workload finds the
 * services selecting it by looking only under its own labels.
 */
import { clone } from '@bufbuild/protobuf';
import { ServiceSchema } from '../../gen/istio/workload/workload_pb.js';
import { addTo, removeFrom } from './label-index.js';
import { selectsNonEmpty, type Labels } from './labels.js';
import { pickCanonical, pickNamespaceWinner, type ServiceInfo } from './services.js';

/** One name whose winner changed (either side undefined when the name appeared or went away). */
export interface WinnerChange {
  readonly key: string;
  readonly prev: ServiceInfo | undefined;
  readonly next: ServiceInfo | undefined;
}

export class ServiceTable {
  private readonly infosBySource = new Map<string, ServiceInfo[]>();
  private readonly candidates = new Map<string, Map<string, ServiceInfo>>();
  private readonly keysByHostname = new Map<string, Set<string>>();
  private readonly winners = new Map<string, ServiceInfo>();
  private readonly bySelectorPair = new Map<string, Map<string, Set<string>>>();

  get size(): number {
    return this.winners.size;
  }

  winner(key: string): ServiceInfo | undefined {
    return this.winners.get(key);
  }

  /** The services an object declares that won their name. */
  wonBy(source: string): ServiceInfo[] {
    const out: ServiceInfo[] = [];
    for (const info of this.infosBySource.get(source) ?? []) {
      const w = this.winners.get(info.key);
      if (w?.source === source) out.push(w);
    }
    return out;
  }

  /** Replaces what an object declares; returns the hostnames to recompute. */
  setSource(source: string, infos: ServiceInfo[]): string[] {
    const hostnames: string[] = [];
    for (const old of this.infosBySource.get(source) ?? []) {
      const m = this.candidates.get(old.key);
      m?.delete(source);
      // The key stays filed under its hostname until recompute() retires it.
      if (m !== undefined && m.size === 0) this.candidates.delete(old.key);
      hostnames.push(old.hostname);
    }
    if (infos.length === 0) this.infosBySource.delete(source);
    else this.infosBySource.set(source, infos);
    for (const info of infos) {
      let m = this.candidates.get(info.key);
      if (m === undefined) {
        m = new Map();
        this.candidates.set(info.key, m);
      }
      m.set(source, info);
      addTo(this.keysByHostname, info.hostname, info.key);
      hostnames.push(info.hostname);
    }
    return hostnames;
  }

  /** Picks the winners (and the canonical one) for every name of a hostname. */
  recompute(hostname: string): WinnerChange[] {
    const keys = [...(this.keysByHostname.get(hostname) ?? [])];
    const chosen: ServiceInfo[] = [];
    for (const key of keys) {
      const w = pickNamespaceWinner(this.candidates.get(key)?.values() ?? []);
      if (w !== undefined) chosen.push(w);
      else removeFrom(this.keysByHostname, hostname, key);
    }
    const canonical = pickCanonical(chosen);
    const next = new Map<string, ServiceInfo>();
    for (const w of chosen) {
      if (w.sourceKind === 'ServiceEntry' && w === canonical) {
        const service = clone(ServiceSchema, w.service);
        service.canonical = true;
        next.set(w.key, { ...w, service });
      } else {
        next.set(w.key, w);
      }
    }
    const changes: WinnerChange[] = [];
    for (const key of keys) {
      const prev = this.winners.get(key);
      const n = next.get(key);
      if (prev === n) continue;
      if (prev !== undefined) this.unindex(prev);
      if (n === undefined) this.winners.delete(key);
      else {
        this.winners.set(key, n);
        this.index(n);
      }
      changes.push({ key, prev, next: n });
    }
    return changes;
  }

  /** Winners in a namespace whose selector matches the labels, sorted by key. */
  selecting(namespace: string, labels: Labels): ServiceInfo[] {
    const byPair = this.bySelectorPair.get(namespace);
    if (byPair === undefined) return [];
    const out = new Map<string, ServiceInfo>();
    for (const k in labels) {
      for (const key of byPair.get(`${k}=${labels[k]}`) ?? []) {
        const w = this.winners.get(key);
        if (w !== undefined && selectsNonEmpty(w.selector, labels)) out.set(key, w);
      }
    }
    return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private index(s: ServiceInfo): void {
    const pair = firstPair(s.selector);
    if (pair === undefined) return;
    let byPair = this.bySelectorPair.get(s.namespace);
    if (byPair === undefined) {
      byPair = new Map();
      this.bySelectorPair.set(s.namespace, byPair);
    }
    addTo(byPair, pair, s.key);
  }

  private unindex(s: ServiceInfo): void {
    const pair = firstPair(s.selector);
    const byPair = this.bySelectorPair.get(s.namespace);
    if (pair === undefined || byPair === undefined) return;
    removeFrom(byPair, pair, s.key);
    if (byPair.size === 0) this.bySelectorPair.delete(s.namespace);
  }
}

function firstPair(selector: Labels | undefined): string | undefined {
  if (selector === undefined) return undefined;
  for (const k in selector) return `${k}=${selector[k]}`;
  return undefined;
}
