/**
 * The node agent's view of the mesh: the Workload, Service and
 * Authorization resources istiod sends, with the indexes the data path
 * looks things up by (uid, `<network>/<ip>`, service VIP, hostname, service
 * endpoints, the workloads on this node). Workloads arrive decoded, and
 * policies compiled: the store's PolicySet is the one set connections are
 * authorized against, so a policy in the store is a policy in force.
 *
 * Every xDS push is applied by one synchronous `applyDelta` call, so a
 * reader never sees half a push; listeners are told once per push what
 * changed. Writing an entry first removes every index entry of its previous
 * version, so a workload that changed IP is no longer found at the old one.
 */
import { isDeepStrictEqual } from 'node:util';
import { equals } from '@bufbuild/protobuf';
import { ServiceSchema, type Service } from '../../gen/istio/workload/workload_pb.js';
import { AuthorizationSchema } from '../../gen/istio/security/authorization_pb.js';
import { errorMessage } from '../../shared/errors.js';
import { PolicySet, type CompiledPolicy } from '../authz/index.js';
import { namespacedHostname, networkAddressKey } from './address.js';
import { StateError } from './errors.js';
import { dumpStore, type StoreDump } from './dump.js';
import type { PortMapping, Workload } from './workload.js';

export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';

/** One decoded resource to write; its key is derived (uid, `<ns>/<hostname>`, `<ns>/<name>`). */
export type StoreResource =
  | { readonly kind: 'workload'; readonly workload: Workload }
  | { readonly kind: 'service'; readonly service: Service }
  | { readonly kind: 'policy'; readonly policy: CompiledPolicy };

/** One push: resources to write and xDS names to remove, for one type URL. */
export interface StoreDelta {
  readonly typeUrl: string;
  readonly upserts: readonly StoreResource[];
  /** Workload uids or `<ns>/<hostname>` (Address), `<ns>/<name>` (Authorization); unknown names are ignored. */
  readonly removals: readonly string[];
}

export interface ChangeSet<T> {
  readonly added: readonly T[];
  readonly updated: readonly T[];
  /** The last version held of each removed entry. */
  readonly removed: readonly T[];
}

/** What one applyDelta changed; entries rewritten with identical content are not listed. */
export interface StoreChange {
  readonly workloads: ChangeSet<Workload>;
  readonly services: ChangeSet<Service>;
  readonly policies: ChangeSet<CompiledPolicy>;
}

/** A workload that is an endpoint of a service, with the ports it serves it on. */
export interface ServiceEndpoint {
  readonly workload: Workload;
  readonly ports: readonly PortMapping[];
}

export type StoreListener = (change: StoreChange) => void;

interface MutableChangeSet<T> {
  added: T[];
  updated: T[];
  removed: T[];
}

/** `<ns>/<name>`: an Authorization's xDS name. */
export function policyKey(p: { readonly namespace: string; readonly name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/** `<ns>/<hostname>`: a Service's xDS name. */
export function serviceKey(s: Service): string {
  return namespacedHostname(s.namespace, s.hostname);
}

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(value);
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

/** The most recently written member (Sets keep insertion order, and a rewrite re-inserts). */
function newest<V>(set: Set<V> | undefined): V | undefined {
  if (set === undefined) return undefined;
  let last: V | undefined;
  for (const v of set) last = v;
  return last;
}

function isHostAddress(bytes: Uint8Array, length: number | undefined): boolean {
  return length === undefined || length === bytes.length * 8;
}

/** Same content: a rewrite with it is no change (and tells no listener). */
function samePolicy(a: CompiledPolicy, b: CompiledPolicy): boolean {
  return equals(AuthorizationSchema, a.source, b.source);
}

export class WorkloadStore {
  /** This agent's node name: workloads whose `node` equals it are local. */
  readonly nodeName: string;
  private readonly workloads = new Map<string, Workload>();
  private readonly services = new Map<string, Service>();
  /**
   * The compiled policies, by key: the set inbound connections are
   * authorized against. It denies everything until the first
   * Authorization push was applied (see markPoliciesSynced), so an agent
   * that restarts never lets through what a DENY held before.
   */
  readonly policies = new PolicySet({ synced: false });
  private addressesSyncedFlag = false;
  private readonly addressWaiters = new Set<() => void>();
  /** `<network>/<ip>` -> workload uids (several only while an address moves between workloads). */
  private readonly workloadsByAddress = new Map<string, Set<string>>();
  /** `<network>/<vip>` -> service keys. */
  private readonly servicesByVip = new Map<string, Set<string>>();
  /** Bare hostname -> service keys in every namespace. */
  private readonly servicesByHostname = new Map<string, Set<string>>();
  /** Service key -> endpoint uid -> ports; kept for services not (yet) received, too. */
  private readonly endpoints = new Map<string, Map<string, readonly PortMapping[]>>();
  private readonly localWorkloads = new Set<string>();
  private readonly listeners = new Set<StoreListener>();

  constructor(nodeName: string) {
    this.nodeName = nodeName;
  }

  /** Registers a listener told once per applied delta that changed anything; returns the unsubscribe function. */
  onChange(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies one push atomically (no await inside), then notifies listeners
   * once. A listener that throws does not stop the others; the first error
   * is rethrown (as STATE_LISTENER_FAILED) after all were told.
   */
  applyDelta(delta: StoreDelta): StoreChange {
    if (delta.typeUrl !== ADDRESS_TYPE_URL && delta.typeUrl !== AUTHORIZATION_TYPE_URL) {
      throw new StateError('STATE_UNKNOWN_TYPE', `workload store: type ${delta.typeUrl} is not held`);
    }
    for (const r of delta.upserts) {
      const isPolicy = r.kind === 'policy';
      if (isPolicy !== (delta.typeUrl === AUTHORIZATION_TYPE_URL)) {
        throw new StateError('STATE_INVALID_RESOURCE', `workload store: a ${r.kind} cannot be part of a ${delta.typeUrl} delta`);
      }
    }
    const workloads: MutableChangeSet<Workload> = { added: [], updated: [], removed: [] };
    const services: MutableChangeSet<Service> = { added: [], updated: [], removed: [] };
    const policies: MutableChangeSet<CompiledPolicy> = { added: [], updated: [], removed: [] };

    for (const name of delta.removals) {
      if (delta.typeUrl === AUTHORIZATION_TYPE_URL) {
        const old = this.policies.find(name);
        if (old === undefined) continue;
        policies.removed.push(old);
        continue;
      }
      const workload = this.workloads.get(name);
      if (workload !== undefined) {
        this.unindexWorkload(workload);
        this.workloads.delete(name);
        workloads.removed.push(workload);
        continue;
      }
      const service = this.services.get(name);
      if (service !== undefined) {
        this.unindexService(service);
        this.services.delete(name);
        services.removed.push(service);
      }
    }

    for (const r of delta.upserts) {
      if (r.kind === 'workload') {
        const w = r.workload;
        const old = this.workloads.get(w.uid);
        if (old !== undefined && isDeepStrictEqual(old, w)) continue;
        if (old !== undefined) this.unindexWorkload(old);
        this.workloads.set(w.uid, w);
        this.indexWorkload(w);
        (old === undefined ? workloads.added : workloads.updated).push(w);
      } else if (r.kind === 'service') {
        const s = r.service;
        const key = serviceKey(s);
        const old = this.services.get(key);
        if (old !== undefined && equals(ServiceSchema, old, s)) continue;
        if (old !== undefined) this.unindexService(old);
        this.services.set(key, s);
        this.indexService(s);
        (old === undefined ? services.added : services.updated).push(s);
      } else {
        const p = r.policy;
        const old = this.policies.find(p.key);
        if (old !== undefined && samePolicy(old, p)) continue;
        (old === undefined ? policies.added : policies.updated).push(p);
      }
    }
    // One revision step for the policies of the whole push.
    this.policies.apply({ compiled: [...policies.added, ...policies.updated], removed: policies.removed.map((p) => p.key) });

    const change: StoreChange = { workloads, services, policies };
    const changed = [workloads, services, policies].some(
      (c) => c.added.length + c.updated.length + c.removed.length > 0,
    );
    if (changed) this.notify(change);
    return change;
  }

  private notify(change: StoreChange): void {
    let first: unknown;
    let failures = 0;
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch (err) {
        failures++;
        first ??= err;
      }
    }
    if (failures > 0) {
      throw new StateError(
        'STATE_LISTENER_FAILED',
        `workload store: ${failures} change listener(s) failed: ${errorMessage(first)}`,
        { cause: first },
      );
    }
  }

  private workloadAddressKeys(w: Workload): string[] {
    // Host-network workloads share the node's IP: Istio never looks them up by address.
    if (w.networkMode === 'host-network') return [];
    return w.addresses.map((ip) => `${w.network}/${ip}`);
  }

  private indexWorkload(w: Workload): void {
    for (const key of this.workloadAddressKeys(w)) addTo(this.workloadsByAddress, key, w.uid);
    for (const [svc, ports] of Object.entries(w.services)) {
      let eps = this.endpoints.get(svc);
      if (eps === undefined) {
        eps = new Map();
        this.endpoints.set(svc, eps);
      }
      eps.set(w.uid, ports);
    }
    if (w.node !== '' && w.node === this.nodeName) this.localWorkloads.add(w.uid);
  }

  private unindexWorkload(w: Workload): void {
    for (const key of this.workloadAddressKeys(w)) removeFrom(this.workloadsByAddress, key, w.uid);
    for (const svc of Object.keys(w.services)) {
      const eps = this.endpoints.get(svc);
      if (eps === undefined) continue;
      eps.delete(w.uid);
      if (eps.size === 0) this.endpoints.delete(svc);
    }
    this.localWorkloads.delete(w.uid);
  }

  private vipKeys(s: Service): string[] {
    const keys: string[] = [];
    for (const a of s.addresses) {
      if (!isHostAddress(a.address, a.length)) continue;
      const key = networkAddressKey(a.network, a.address);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  private indexService(s: Service): void {
    const key = serviceKey(s);
    for (const vip of this.vipKeys(s)) addTo(this.servicesByVip, vip, key);
    addTo(this.servicesByHostname, s.hostname, key);
  }

  private unindexService(s: Service): void {
    const key = serviceKey(s);
    for (const vip of this.vipKeys(s)) removeFrom(this.servicesByVip, vip, key);
    removeFrom(this.servicesByHostname, s.hostname, key);
  }

  findWorkload(uid: string): Workload | undefined {
    return this.workloads.get(uid);
  }

  /** The workload at `<network>/<ip>` (the most recently written one if two claim it). */
  findWorkloadByAddress(network: string, ip: Uint8Array): Workload | undefined {
    const key = networkAddressKey(network, ip);
    if (key === undefined) return undefined;
    const uid = newest(this.workloadsByAddress.get(key));
    return uid === undefined ? undefined : this.workloads.get(uid);
  }

  /** A service by its xDS name `<ns>/<hostname>`. */
  findService(namespacedName: string): Service | undefined {
    return this.services.get(namespacedName);
  }

  /** The service whose VIP is `<network>/<ip>`. */
  findServiceByVip(network: string, vip: Uint8Array): Service | undefined {
    const key = networkAddressKey(network, vip);
    if (key === undefined) return undefined;
    const svc = newest(this.servicesByVip.get(key));
    return svc === undefined ? undefined : this.services.get(svc);
  }

  /** Every service with this bare hostname, in any namespace, sorted by namespace. */
  findServicesByHostname(hostname: string): Service[] {
    const keys = [...(this.servicesByHostname.get(hostname) ?? [])].sort();
    return keys.map((k) => this.services.get(k)).filter((s): s is Service => s !== undefined);
  }

  /** The workloads whose `services` map names `<ns>/<hostname>`, sorted by uid, with their ports for it. */
  findEndpoints(namespacedName: string): ServiceEndpoint[] {
    const eps = this.endpoints.get(namespacedName);
    if (eps === undefined) return [];
    const out: ServiceEndpoint[] = [];
    for (const uid of [...eps.keys()].sort()) {
      const workload = this.workloads.get(uid);
      if (workload !== undefined) out.push({ workload, ports: eps.get(uid) ?? [] });
    }
    return out;
  }

  findPolicy(key: string): CompiledPolicy | undefined {
    return this.policies.find(key);
  }

  /**
   * The first Authorization push has been applied: from now on the policy
   * set decides by its policies instead of denying everything.
   */
  markPoliciesSynced(): void {
    this.policies.markSynced();
  }

  /** Whether the first Address push has been applied: until then no route is known. */
  get addressesSynced(): boolean {
    return this.addressesSyncedFlag;
  }

  /** Connections waiting in whenAddressesSynced. */
  get waitingForAddresses(): number {
    return this.addressWaiters.size;
  }

  /** The first Address push has been applied: connections waiting to be routed go on. */
  markAddressesSynced(): void {
    if (this.addressesSyncedFlag) return;
    this.addressesSyncedFlag = true;
    const waiting = [...this.addressWaiters];
    this.addressWaiters.clear();
    for (const resume of waiting) resume();
  }

  /**
   * Resolves true once the first Address push is applied, or false when
   * `signal` aborts first (the waiter is dropped either way).
   */
  whenAddressesSynced(signal: AbortSignal): Promise<boolean> {
    if (this.addressesSyncedFlag) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const resume = (): void => {
        signal.removeEventListener('abort', giveUp);
        resolve(true);
      };
      const giveUp = (): void => {
        this.addressWaiters.delete(resume);
        resolve(false);
      };
      this.addressWaiters.add(resume);
      signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  /** The workloads scheduled on this agent's node, sorted by uid. */
  findLocalWorkloads(): Workload[] {
    return [...this.localWorkloads].sort().map((uid) => this.workloads.get(uid) as Workload);
  }

  isLocal(uid: string): boolean {
    return this.localWorkloads.has(uid);
  }

  /** Every workload, service and policy, sorted by key. */
  snapshot(): { workloads: Workload[]; services: Service[]; policies: CompiledPolicy[] } {
    const sorted = <T>(m: Map<string, T>): T[] => [...m.keys()].sort().map((k) => m.get(k) as T);
    return { workloads: sorted(this.workloads), services: sorted(this.services), policies: this.policies.all() };
  }

  /** The `/config_dump` section: workloads, services (with endpoints) and policies, sorted, camelCase. */
  dump(): StoreDump {
    return dumpStore(this);
  }

  /** Counts for status pages and metrics. */
  get size(): { workloads: number; services: number; policies: number } {
    return { workloads: this.workloads.size, services: this.services.size, policies: this.policies.size };
  }

  /** Endpoint service keys that name no service held (ztunnel's "staged services"), sorted. */
  stagedServiceKeys(): string[] {
    return [...this.endpoints.keys()].filter((k) => !this.services.has(k)).sort();
  }
}
