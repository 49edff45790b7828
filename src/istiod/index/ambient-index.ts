/**
 * The ambient index: derives the Workload, Service and Authorization
 * resources istiod serves to node agents from the ConfigStore, and keeps them
 * current incrementally. Each store notification is one batch: the changed
 * objects mark what they affect (a pod its workload; a service itself and the
 * workloads it selects or selected; a namespace its pods; a policy itself and
 * the workloads whose policy lists may change), the marked resources are
 * rebuilt and re-encoded, and listeners hear only the names whose bytes
 * changed.
 */
import { create, toBinary, toJson, type JsonValue } from '@bufbuild/protobuf';
import { AuthorizationSchema, type Authorization } from '../../gen/istio/security/authorization_pb.js';
import {
  AddressSchema,
  NetworkMode,
  ServiceSchema,
  WorkloadSchema,
  type Service,
  type Workload,
} from '../../gen/istio/workload/workload_pb.js';
import { silentLogger, type Logger } from '../../shared/logging.js';
import { formatSpiffeId } from '../../shared/spiffe.js';
import type { ConfigStore } from '../config/store.js';
import { keyOf, type AnyConfigObject, type ConfigEvent, type ConfigObject } from '../config/types.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  type ResourceChange,
  type XdsResource,
  type XdsResourceSource,
} from '../xds/resource-source.js';
import { convertAuthorizationPolicy } from './authorization.js';
import { IndexError } from './errors.js';
import { formatIp, parseIpExact } from '../../shared/net/index.js';
import { addTo, LabelIndex, removeFrom } from './label-index.js';
import { equalBytes, ResourceTable } from './resource-table.js';
import { nonEmpty, selectsNonEmpty, type Labels } from './labels.js';
import {
  convertPeerAuthentication,
  oldest,
  peerAuthenticationKeys,
  staticStrictPolicy,
} from './peer-authentication.js';
import { buildKubeService, buildServiceEntryServices } from './services.js';
import { ServiceTable, type WinnerChange } from './service-table.js';
import {
  buildPodWorkload,
  buildServiceEntryWorkloads,
  buildWorkloadEntryWorkload,
  workloadEntryLabels,
  type BuildContext,
} from './workloads.js';

export interface AmbientIndexOptions {
  /** The mesh trust domain, e.g. "cluster.local". */
  readonly trustDomain: string;
  /** This cluster's id, e.g. "Kubernetes"; prefixes workload uids. */
  readonly clusterId: string;
  /** The root namespace, e.g. "istio-system": its policies apply mesh-wide. */
  readonly rootNamespace: string;
  /** The DNS suffix of Service hostnames, e.g. "cluster.local". */
  readonly domainSuffix: string;
  /** The network of workloads and VIPs; "" by default. */
  readonly network: string;
}

type SourceKind = 'Pod' | 'WorkloadEntry' | 'ServiceEntry';
const SELECTABLE: ReadonlySet<SourceKind> = new Set<SourceKind>(['Pod', 'WorkloadEntry']);
const PODS: ReadonlySet<SourceKind> = new Set<SourceKind>(['Pod']);

interface WorkloadRecord {
  readonly workload: Workload;
  readonly source: string;
  readonly resource: XdsResource;
  /** SPIFFE URI, for the per-node identity index; undefined when the workload has no node. */
  readonly identity: string | undefined;
}

interface PolicyRecord {
  /** "<ns>/<name>", the xDS name. */
  readonly name: string;
  readonly namespace: string;
  readonly selector: Labels | undefined;
  readonly authorization: Authorization | undefined;
  readonly status: string | undefined;
}

/** What the events of one batch marked for recomputation. */
interface Batch {
  readonly dirtySources: Set<string>;
  readonly dirtyHostnames: Set<string>;
  readonly dirtyPeerAuthNamespaces: Set<string>;
}

export class AmbientIndex implements XdsResourceSource {
  readonly typeUrls: readonly string[] = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL];

  private readonly log: Logger;
  private readonly ctx: BuildContext;
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<(changes: readonly ResourceChange[]) => void>();

  // ---- inputs ----
  private readonly namespaceLabels = new Map<string, Labels>();
  private readonly pods = new Map<string, ConfigObject<'Pod'>>();
  private readonly workloadEntries = new Map<string, ConfigObject<'WorkloadEntry'>>();
  private readonly serviceEntries = new Map<string, ConfigObject<'ServiceEntry'>>();
  private readonly peerAuths = new Map<string, ConfigObject<'PeerAuthentication'>>();
  private readonly peerAuthsByNamespace = new Map<string, Set<string>>();
  /** Pods, WorkloadEntries and ServiceEntries (their endpoints) by labels. */
  private readonly sources = new LabelIndex<SourceKind>();

  // ---- services ----
  private readonly serviceTable = new ServiceTable();
  /** Workload sources currently listing a service, to update them when it changes. */
  private readonly sourcesByService = new Map<string, Set<string>>();
  private readonly servicesOfSource = new Map<string, readonly string[]>();

  // ---- workloads ----
  private readonly workloadsBySource = new Map<string, Set<string>>();
  private readonly workloadRecords = new Map<string, WorkloadRecord>();
  private readonly identitiesByNode = new Map<string, Map<string, number>>();

  // ---- policies ----
  private readonly policies = new Map<string, PolicyRecord>();
  private readonly selectorPoliciesByNamespace = new Map<string, Set<string>>();
  private readonly convertedPeerAuths = new Map<string, string>();

  // ---- served ----
  private readonly addresses = new ResourceTable(ADDRESS_TYPE_URL);
  private readonly serviceMessages = new Map<string, Service>();
  private readonly authz = new ResourceTable(AUTHORIZATION_TYPE_URL);
  private readonly authzMessages = new Map<string, Authorization>();

  constructor(
    store: ConfigStore,
    private readonly options: AmbientIndexOptions,
    logger: Logger = silentLogger,
  ) {
    this.log = logger.child({ component: 'ambient-index' });
    this.ctx = {
      clusterId: options.clusterId,
      network: options.network,
      // Istio leaves the field empty for the default trust domain.
      trustDomainField: options.trustDomain === 'cluster.local' ? '' : options.trustDomain,
    };
    this.onEvents(store.all().map((object) => ({ kind: 'add' as const, object })));
    this.unsubscribe = store.subscribe((events) => this.onEvents(events));
    this.log.info(
      {
        workloads: this.workloadRecords.size,
        services: this.serviceTable.size,
        authorizations: this.authzMessages.size,
      },
      'ambient index built',
    );
  }

  /** Stops following the store. */
  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  // ---------- XdsResourceSource ----------

  resources(typeUrl: string): ReadonlyMap<string, XdsResource> {
    return this.table(typeUrl).all;
  }

  find(typeUrl: string, name: string): XdsResource | undefined {
    return this.table(typeUrl).find(name);
  }

  private table(typeUrl: string): ResourceTable {
    if (typeUrl === ADDRESS_TYPE_URL) return this.addresses;
    if (typeUrl === AUTHORIZATION_TYPE_URL) return this.authz;
    throw new IndexError(
      'INDEX_UNKNOWN_TYPE_URL',
      `the ambient index does not serve ${typeUrl} (it serves ${this.typeUrls.join(', ')})`,
    );
  }

  onChange(listener: (changes: readonly ResourceChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---------- debugging views ----------

  /** Every workload, sorted by uid. Treat as read-only. */
  workloads(): Workload[] {
    return [...this.workloadRecords.values()].map((r) => r.workload).sort((a, b) => cmp(a.uid, b.uid));
  }

  /** Every service, sorted by "<ns>/<hostname>". Treat as read-only. */
  services(): Service[] {
    return [...this.serviceMessages.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, s]) => s);
  }

  /** Every authorization served, sorted by "<ns>/<name>". Treat as read-only. */
  authorizations(): Authorization[] {
    return [...this.authzMessages.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, a]) => a);
  }

  /** Everything served, as proto JSON sorted by name: for debug endpoints and tests. */
  dump(): { workloads: JsonValue[]; services: JsonValue[]; authorizations: JsonValue[] } {
    return {
      workloads: this.workloads().map((w) => toJson(WorkloadSchema, w)),
      services: this.services().map((s) => toJson(ServiceSchema, s)),
      authorizations: this.authorizations().map((a) => toJson(AuthorizationSchema, a)),
    };
  }

  /** SPIFFE URIs of the workloads scheduled on a node (what that node's agent may request certificates for). */
  identitiesOnNode(node: string): ReadonlySet<string> {
    return new Set(this.identitiesByNode.get(node)?.keys() ?? []);
  }

  /**
   * The workload owning an IP on a network (default: this index's network).
   * Host-network workloads share their node's IP, so they are never found by
   * IP (nor carry IP aliases), as in Istio.
   */
  findWorkloadByIp(ip: string, network: string = this.options.network): Workload | undefined {
    const bytes = parseIpExact(ip);
    if (bytes === undefined) return undefined;
    for (const n of this.addresses.namesForAlias(`${network}/${formatIp(bytes)}`)) {
      const w = this.workloadRecords.get(n)?.workload;
      if (w !== undefined) return w;
    }
    return undefined;
  }

  /** Why a policy is not sent or is sent narrowed ("<ns>/<name>"), as istiod reports in its status. */
  policyStatus(name: string): string | undefined {
    for (const p of this.policies.values()) if (p.name === name) return p.status;
    return undefined;
  }

  // ---------- event handling ----------

  private onEvents(events: readonly ConfigEvent[]): void {
    const batch: Batch = {
      dirtySources: new Set(),
      dirtyHostnames: new Set(),
      dirtyPeerAuthNamespaces: new Set(),
    };
    this.addresses.begin();
    this.authz.begin();
    let changes: ResourceChange[];
    try {
      for (const ev of events) {
        const previous = ev.kind === 'update' ? ev.previous : ev.kind === 'delete' ? ev.object : undefined;
        const current = ev.kind === 'delete' ? undefined : ev.object;
        this.apply(previous, current, batch);
      }
      this.flush(batch);
    } finally {
      changes = [this.addresses.end(), this.authz.end()].filter(
        (c) => c.updated.length + c.removed.length > 0,
      );
    }
    if (changes.length === 0) return;
    this.log.debug(
      {
        changes: changes.map((c) => ({
          typeUrl: c.typeUrl,
          updated: c.updated.length,
          removed: c.removed.length,
        })),
      },
      'resources changed',
    );
    for (const l of this.listeners) {
      try {
        l(changes);
      } catch (err) {
        this.log.error({ err }, 'resource change listener failed');
      }
    }
  }

  private apply(previous: AnyConfigObject | undefined, current: AnyConfigObject | undefined, b: Batch): void {
    const obj = (current ?? previous) as AnyConfigObject;
    const key = keyOf(obj);
    switch (obj.kind) {
      case 'Namespace': {
        const name = obj.metadata.name;
        const before = this.namespaceLabels.get(name);
        if (current === undefined) this.namespaceLabels.delete(name);
        else this.namespaceLabels.set(name, current.metadata.labels);
        if (JSON.stringify(before ?? {}) !== JSON.stringify(current?.metadata.labels ?? {})) {
          // Enrollment follows the namespace label: every pod in it may change tunnel.
          for (const s of this.sources.inNamespace(name, PODS)) b.dirtySources.add(s);
        }
        return;
      }
      case 'Pod':
        if (current === undefined) this.pods.delete(key);
        else this.pods.set(key, current as ConfigObject<'Pod'>);
        this.indexSource(key, 'Pod', current?.metadata.namespace, current?.metadata.labels);
        b.dirtySources.add(key);
        return;
      case 'WorkloadEntry':
        if (current === undefined) this.workloadEntries.delete(key);
        else this.workloadEntries.set(key, current as ConfigObject<'WorkloadEntry'>);
        this.indexSource(
          key,
          'WorkloadEntry',
          current?.metadata.namespace,
          current === undefined ? undefined : workloadEntryLabels(current as ConfigObject<'WorkloadEntry'>),
        );
        b.dirtySources.add(key);
        return;
      case 'Service': {
        const info =
          current === undefined
            ? undefined
            : buildKubeService(
                current as ConfigObject<'Service'>,
                this.options.domainSuffix,
                this.options.network,
              );
        for (const h of this.serviceTable.setSource(key, info === undefined ? [] : [info]))
          b.dirtyHostnames.add(h);
        return;
      }
      case 'ServiceEntry': {
        const se = current as ConfigObject<'ServiceEntry'> | undefined;
        if (se === undefined) this.serviceEntries.delete(key);
        else this.serviceEntries.set(key, se);
        for (const h of this.serviceTable.setSource(
          key,
          se === undefined ? [] : buildServiceEntryServices(se, this.options.network),
        )) {
          b.dirtyHostnames.add(h);
        }
        this.indexSource(key, 'ServiceEntry', se?.metadata.namespace, se?.metadata.labels);
        b.dirtySources.add(key);
        return;
      }
      case 'AuthorizationPolicy':
        this.applyAuthorizationPolicy(key, current as ConfigObject<'AuthorizationPolicy'> | undefined, b);
        return;
      case 'PeerAuthentication':
        this.applyPeerAuthentication(
          key,
          previous as ConfigObject<'PeerAuthentication'> | undefined,
          current as ConfigObject<'PeerAuthentication'> | undefined,
          b,
        );
        return;
      default:
        return;
    }
  }

  private indexSource(
    key: string,
    kind: SourceKind,
    namespace: string | undefined,
    labels: Labels | undefined,
  ): void {
    if (namespace === undefined || labels === undefined) this.sources.delete(key);
    else this.sources.set(key, { namespace, kind, labels });
  }

  private applyAuthorizationPolicy(
    key: string,
    ap: ConfigObject<'AuthorizationPolicy'> | undefined,
    b: Batch,
  ): void {
    const old = this.policies.get(key);
    if (old !== undefined) {
      this.markSelected(old, b);
      removeFrom(this.selectorPoliciesByNamespace, old.namespace, key);
      if (old.authorization !== undefined) this.removeAuthz(old.name);
      this.policies.delete(key);
    }
    if (ap === undefined) return;
    const { authorization, status } = convertAuthorizationPolicy(this.options.rootNamespace, ap);
    const rec: PolicyRecord = {
      name: `${ap.metadata.namespace}/${ap.metadata.name}`,
      namespace: ap.metadata.namespace,
      selector: nonEmpty(ap.spec.selector?.matchLabels),
      authorization,
      status,
    };
    if (status !== undefined)
      this.log.info({ policy: rec.name, status }, 'authorization policy not fully enforced by ztunnel');
    this.policies.set(key, rec);
    if (authorization !== undefined) {
      this.putAuthz(rec.name, authorization);
      if (rec.selector !== undefined) addTo(this.selectorPoliciesByNamespace, rec.namespace, key);
    }
    this.markSelected(rec, b);
  }

  /** Marks the workloads a selector policy lists itself on (any namespace when it is in the root namespace). */
  private markSelected(p: PolicyRecord, b: Batch): void {
    if (p.authorization === undefined || p.selector === undefined) return;
    const ns = p.namespace === this.options.rootNamespace ? undefined : p.namespace;
    for (const s of this.sources.select(p.selector, ns)) b.dirtySources.add(s);
  }

  private applyPeerAuthentication(
    key: string,
    previous: ConfigObject<'PeerAuthentication'> | undefined,
    current: ConfigObject<'PeerAuthentication'> | undefined,
    b: Batch,
  ): void {
    for (const pa of [previous, current]) {
      if (pa === undefined) continue;
      const ns = pa.metadata.namespace;
      b.dirtyPeerAuthNamespaces.add(ns);
      const selector = pa.spec.selector?.matchLabels;
      if (pa.spec.selector === undefined || nonEmpty(selector) === undefined) {
        const scope = ns === this.options.rootNamespace && pa.spec.selector === undefined ? undefined : ns;
        for (const s of this.sources.inNamespace(scope)) b.dirtySources.add(s);
      } else {
        for (const s of this.sources.select(selector, ns)) b.dirtySources.add(s);
      }
    }
    if (previous !== undefined) removeFrom(this.peerAuthsByNamespace, previous.metadata.namespace, key);
    if (current === undefined) this.peerAuths.delete(key);
    else {
      this.peerAuths.set(key, current);
      addTo(this.peerAuthsByNamespace, current.metadata.namespace, key);
    }
  }

  // ---------- recomputation ----------

  private flush(b: Batch): void {
    for (const hostname of b.dirtyHostnames) this.recomputeHostname(hostname, b);
    if (b.dirtyPeerAuthNamespaces.size > 0) this.recomputePeerAuthPolicies(b);
    for (const source of b.dirtySources) this.rebuildSource(source);
  }

  private recomputeHostname(hostname: string, b: Batch): void {
    for (const change of this.serviceTable.recompute(hostname)) this.applyWinnerChange(change, b);
  }

  /** Serves a name's new winner and marks the workloads whose services map may change. */
  private applyWinnerChange({ key, prev, next }: WinnerChange, b: Batch): void {
    const selectionChanged =
      prev?.selectionFingerprint !== next?.selectionFingerprint || prev?.source !== next?.source;
    if (next === undefined) {
      this.addresses.remove(key);
      this.serviceMessages.delete(key);
    } else {
      this.serviceMessages.set(key, next.service);
      const aliases = next.service.addresses.map((a) => `${a.network}/${formatIp(a.address)}`);
      this.addresses.put(
        key,
        toBinary(AddressSchema, create(AddressSchema, { type: { case: 'service', value: next.service } })),
        aliases,
      );
    }
    if (!selectionChanged) return;
    for (const s of this.sourcesByService.get(key) ?? []) b.dirtySources.add(s);
    if (next !== undefined) {
      for (const s of this.sources.select(next.selector, next.namespace, SELECTABLE)) b.dirtySources.add(s);
    }
    // A ServiceEntry's inline endpoints carry only the hosts it won.
    for (const w of [prev, next]) if (w?.sourceKind === 'ServiceEntry') b.dirtySources.add(w.source);
  }

  private recomputePeerAuthPolicies(b: Batch): void {
    const root = this.options.rootNamespace;
    if (this.peerAuths.size > 0)
      this.putAuthz(`${root}/istio_converted_static_strict`, staticStrictPolicy(root));
    else this.removeAuthz(`${root}/istio_converted_static_strict`);
    // A namespace or mesh policy changes how its workload policies convert.
    const namespaces = b.dirtyPeerAuthNamespaces.has(root)
      ? new Set([...this.peerAuthsByNamespace.keys(), ...b.dirtyPeerAuthNamespaces])
      : b.dirtyPeerAuthNamespaces;
    const meshPolicy = this.namespaceLevelPeerAuth(root);
    for (const ns of namespaces) {
      const nsPolicy = ns === root ? undefined : this.namespaceLevelPeerAuth(ns);
      const present = new Set<string>();
      for (const key of this.peerAuthsByNamespace.get(ns) ?? []) {
        const pa = this.peerAuths.get(key) as ConfigObject<'PeerAuthentication'>;
        const converted = convertPeerAuthentication(root, pa, nsPolicy, meshPolicy);
        if (converted === undefined) continue;
        const name = `${converted.namespace}/${converted.name}`;
        present.add(key);
        const before = this.convertedPeerAuths.get(key);
        if (before !== undefined && before !== name) this.removeAuthz(before);
        this.convertedPeerAuths.set(key, name);
        this.putAuthz(name, converted);
      }
      for (const [key, name] of [...this.convertedPeerAuths]) {
        if (key.startsWith(`PeerAuthentication/${ns}/`) && !present.has(key)) {
          this.convertedPeerAuths.delete(key);
          this.removeAuthz(name);
        }
      }
    }
  }

  /** The oldest selector-less PeerAuthentication of a namespace. */
  private namespaceLevelPeerAuth(ns: string): ConfigObject<'PeerAuthentication'> | undefined {
    const list: ConfigObject<'PeerAuthentication'>[] = [];
    for (const key of this.peerAuthsByNamespace.get(ns) ?? []) {
      const pa = this.peerAuths.get(key) as ConfigObject<'PeerAuthentication'>;
      if (pa.spec.selector === undefined) list.push(pa);
    }
    return oldest(list);
  }

  /** Selector-scoped policy keys (sorted), then the PeerAuthentication keys, as a workload lists them. */
  private policyKeys(namespace: string, labels: Labels): string[] {
    const root = this.options.rootNamespace;
    const names: string[] = [];
    for (const ns of namespace === root ? [root] : [namespace, root]) {
      for (const key of this.selectorPoliciesByNamespace.get(ns) ?? []) {
        const p = this.policies.get(key) as PolicyRecord;
        if (selectsNonEmpty(p.selector, labels)) names.push(p.name);
      }
    }
    names.sort(cmp);
    if (this.peerAuths.size === 0) return names;
    const applicable: ConfigObject<'PeerAuthentication'>[] = [];
    for (const ns of namespace === root ? [root] : [root, namespace]) {
      for (const key of this.peerAuthsByNamespace.get(ns) ?? []) {
        const pa = this.peerAuths.get(key) as ConfigObject<'PeerAuthentication'>;
        const sel = pa.spec.selector;
        if (sel === undefined) applicable.push(pa);
        else if (ns === namespace && subset(sel.matchLabels, labels)) applicable.push(pa);
      }
    }
    return [...names, ...peerAuthenticationKeys(root, applicable)];
  }

  private rebuildSource(source: string): void {
    const kind = source.slice(0, source.indexOf('/')) as SourceKind;
    const entry = this.sources.get(source);
    let built: Workload[] = [];
    let serviceKeys: readonly string[] = [];
    if (entry !== undefined) {
      const keys = this.policyKeys(entry.namespace, entry.labels);
      if (kind === 'Pod') {
        const pod = this.pods.get(source) as ConfigObject<'Pod'>;
        const services = this.serviceTable.selecting(entry.namespace, entry.labels);
        serviceKeys = services.map((s) => s.key);
        const w = buildPodWorkload(this.ctx, pod, this.namespaceLabels.get(entry.namespace), services, keys);
        if (w !== undefined) built = [w];
      } else if (kind === 'WorkloadEntry') {
        const we = this.workloadEntries.get(source) as ConfigObject<'WorkloadEntry'>;
        const services = this.serviceTable.selecting(entry.namespace, entry.labels);
        serviceKeys = services.map((s) => s.key);
        built = [buildWorkloadEntryWorkload(this.ctx, we, services, keys)];
      } else {
        const se = this.serviceEntries.get(source) as ConfigObject<'ServiceEntry'>;
        built = buildServiceEntryWorkloads(this.ctx, se, this.serviceTable.wonBy(source), keys);
      }
    }
    for (const key of this.servicesOfSource.get(source) ?? []) removeFrom(this.sourcesByService, key, source);
    for (const key of serviceKeys) addTo(this.sourcesByService, key, source);
    if (serviceKeys.length > 0) this.servicesOfSource.set(source, serviceKeys);
    else this.servicesOfSource.delete(source);

    const before = this.workloadsBySource.get(source) ?? new Set<string>();
    const after = new Set<string>();
    for (const w of built) {
      after.add(w.uid);
      this.putWorkload(w, source);
    }
    for (const uid of before) if (!after.has(uid)) this.removeWorkload(uid);
    if (after.size > 0) this.workloadsBySource.set(source, after);
    else this.workloadsBySource.delete(source);
  }

  // ---------- served resources ----------

  private putWorkload(w: Workload, source: string): void {
    const bytes = toBinary(AddressSchema, create(AddressSchema, { type: { case: 'workload', value: w } }));
    const prev = this.workloadRecords.get(w.uid);
    if (prev !== undefined && equalBytes(prev.resource.value, bytes)) return;
    if (prev !== undefined) this.dropIdentity(prev);
    const aliases =
      w.networkMode === NetworkMode.HOST_NETWORK
        ? []
        : w.addresses.map((a) => `${w.network}/${formatIp(a)}`);
    const resource = this.addresses.put(w.uid, bytes, aliases);
    const identity =
      w.node === ''
        ? undefined
        : formatSpiffeId({
            trustDomain: this.options.trustDomain,
            namespace: w.namespace,
            serviceAccount: w.serviceAccount === '' ? 'default' : w.serviceAccount,
          });
    const rec: WorkloadRecord = { workload: w, source, resource, identity };
    this.workloadRecords.set(w.uid, rec);
    if (identity !== undefined) {
      let ids = this.identitiesByNode.get(w.node);
      if (ids === undefined) {
        ids = new Map();
        this.identitiesByNode.set(w.node, ids);
      }
      ids.set(identity, (ids.get(identity) ?? 0) + 1);
    }
  }

  private removeWorkload(uid: string): void {
    const prev = this.workloadRecords.get(uid);
    if (prev === undefined) return;
    this.dropIdentity(prev);
    this.workloadRecords.delete(uid);
    this.addresses.remove(uid);
  }

  private dropIdentity(rec: WorkloadRecord): void {
    if (rec.identity === undefined) return;
    const ids = this.identitiesByNode.get(rec.workload.node);
    const n = ids?.get(rec.identity) ?? 0;
    if (ids === undefined || n === 0) return;
    if (n > 1) ids.set(rec.identity, n - 1);
    else ids.delete(rec.identity);
    if (ids.size === 0) this.identitiesByNode.delete(rec.workload.node);
  }

  private putAuthz(name: string, a: Authorization): void {
    this.authzMessages.set(name, a);
    this.authz.put(name, toBinary(AuthorizationSchema, a));
  }

  private removeAuthz(name: string): void {
    this.authzMessages.delete(name);
    this.authz.remove(name);
  }
}

/** Every pair of `selector` is in `labels`; an empty or absent selector matches. */
function subset(selector: Labels | undefined, labels: Labels): boolean {
  for (const k in selector ?? {}) if (labels[k] !== selector?.[k]) return false;
  return true;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
