/**
 * The node agent's compiled policies, by key ("<ns>/<name>"), with the
 * indexes the per-connection lookup needs: GLOBAL policies, NAMESPACE
 * policies per namespace. WORKLOAD_SELECTOR policies apply only where a
 * workload lists their key. Policies are compiled when they change; a
 * connection then costs a lookup and the matchers.
 *
 * A set that is not yet synced (the node agent's, until its first
 * Authorization push) denies every connection: policies that existed
 * before the agent started must be in force before anything is let through.
 */
import type { Authorization } from '../../gen/istio/security/authorization_pb.js';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import type { PreparedConnection } from './connection.js';
import { evaluate, type Decision } from './evaluate.js';

/** The parts of a destination workload policy selection reads. */
export interface WorkloadPolicyRef {
  readonly namespace: string;
  /** Keys ("<ns>/<name>") istiod attached to the workload (selector policies, PeerAuthentication). */
  readonly authorizationPolicies: readonly string[];
}

export interface ApplicablePolicies {
  /** Namespace policies (by key), then global ones (by key), then the workload's keys in its order; no duplicates. */
  readonly policies: readonly CompiledPolicy[];
  /** Keys the workload lists that are not in the set (not yet received, or just removed): skipped. */
  readonly unknown: readonly string[];
}

/** A live connection to re-check: its destination workload and the connection prepared once. */
export interface LiveConnection {
  readonly workload: WorkloadPolicyRef;
  readonly connection: PreparedConnection;
}

/** One batch of changes, applied atomically (all compile, or nothing changes). */
export interface PolicyChanges {
  /** Resources to compile and store. */
  readonly updated?: readonly Authorization[];
  /** Policies compiled already (by the xDS decoder), to store as they are. */
  readonly compiled?: readonly CompiledPolicy[];
  /** Keys "<ns>/<name>". */
  readonly removed?: readonly string[];
}

export interface PolicySetOptions {
  /** False: deny everything until markSynced() (default true: the set is complete as built). */
  readonly synced?: boolean;
}

/** The decision of a set that has not received its policies yet. */
const NOT_SYNCED: Decision = { kind: 'deny', reason: 'policies-not-synced' };

function insertSorted(list: string[], key: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== key) list.splice(lo, 0, key);
}

function removeSorted(list: string[], key: string): void {
  const at = list.indexOf(key);
  if (at >= 0) list.splice(at, 1);
}

const GLOBAL = '';

export class PolicySet {
  private readonly byKey = new Map<string, CompiledPolicy>();
  /** Sorted keys per namespace; GLOBAL ("") holds the global policies. */
  private readonly byScope = new Map<string, string[]>();
  private revisionValue = 0;
  private syncedValue: boolean;

  constructor(options: PolicySetOptions = {}) {
    this.syncedValue = options.synced ?? true;
  }

  /** Whether the set holds the policies it was waiting for; until then it denies. */
  get synced(): boolean {
    return this.syncedValue;
  }

  /** The policies have arrived: decide by them from now on (one revision step). */
  markSynced(): void {
    if (this.syncedValue) return;
    this.syncedValue = true;
    this.revisionValue++;
  }

  /** Increases on every change; a connection checked at an older revision needs a re-check. */
  get revision(): number {
    return this.revisionValue;
  }

  get size(): number {
    return this.byKey.size;
  }

  find(key: string): CompiledPolicy | undefined {
    return this.byKey.get(key);
  }

  /** Every policy, sorted by key. */
  all(): CompiledPolicy[] {
    return [...this.byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Compiles and stores (or replaces) one policy. Throws AuthzError for a resource the agent rejects. */
  upsert(a: Authorization): CompiledPolicy {
    const compiled = compilePolicy(a);
    this.put(compiled);
    this.revisionValue++;
    return compiled;
  }

  /** Removes a policy by key; returns whether it existed. */
  remove(key: string): boolean {
    if (!this.drop(key)) return false;
    this.revisionValue++;
    return true;
  }

  /**
   * Applies a batch: every updated resource is compiled first, so a bad one
   * throws before anything changes. One revision step for the whole batch.
   */
  apply(changes: PolicyChanges): void {
    const compiled = [...(changes.updated ?? []).map(compilePolicy), ...(changes.compiled ?? [])];
    let changed = false;
    for (const key of changes.removed ?? []) changed = this.drop(key) || changed;
    for (const c of compiled) this.put(c);
    if (changed || compiled.length > 0) this.revisionValue++;
  }

  /** Replaces the whole set (a state-of-the-world push), atomically. */
  replaceAll(resources: readonly Authorization[]): void {
    const compiled = resources.map(compilePolicy);
    this.byKey.clear();
    this.byScope.clear();
    for (const c of compiled) this.put(c);
    this.revisionValue++;
  }

  /**
   * The policies that apply to a destination workload: GLOBAL ones, the
   * NAMESPACE ones of its namespace, and the keys it lists. Listed keys not
   * in the set are skipped and returned in `unknown`.
   */
  applicableTo(workload: WorkloadPolicyRef): ApplicablePolicies {
    const out: CompiledPolicy[] = [];
    const seen = new Set<string>();
    const unknown: string[] = [];
    const add = (key: string): void => {
      if (seen.has(key)) return;
      const p = this.byKey.get(key);
      if (p === undefined) {
        unknown.push(key);
        return;
      }
      seen.add(key);
      out.push(p);
    };
    // The global bucket is keyed "" and a namespace is never empty, so they cannot collide.
    for (const key of this.byScope.get(workload.namespace) ?? []) add(key);
    for (const key of this.byScope.get(GLOBAL) ?? []) add(key);
    for (const key of workload.authorizationPolicies) add(key);
    return { policies: out, unknown };
  }

  /** Decides a connection to a workload with the current policies. */
  check(workload: WorkloadPolicyRef, connection: PreparedConnection): Decision {
    if (!this.syncedValue) return NOT_SYNCED;
    return evaluate(this.applicableTo(workload).policies, connection);
  }

  /**
   * Re-checks live connections (after a policy change) and returns those the
   * current policies deny, with the decision. Workloads with the same
   * namespace and key list share one lookup.
   */
  recheck<T extends LiveConnection>(live: Iterable<T>): { readonly connection: T; readonly decision: Decision }[] {
    const cache = new Map<string, readonly CompiledPolicy[]>();
    const denied: { connection: T; decision: Decision }[] = [];
    for (const l of live) {
      const cacheKey = `${l.workload.namespace}\n${l.workload.authorizationPolicies.join('\n')}`;
      let policies = cache.get(cacheKey);
      if (policies === undefined) {
        policies = this.applicableTo(l.workload).policies;
        cache.set(cacheKey, policies);
      }
      const decision = this.syncedValue ? evaluate(policies, l.connection) : NOT_SYNCED;
      if (decision.kind === 'deny') denied.push({ connection: l, decision });
    }
    return denied;
  }

  private bucketOf(p: CompiledPolicy): string | undefined {
    if (p.scope === 'global') return GLOBAL;
    if (p.scope === 'namespace') return p.namespace;
    return undefined;
  }

  private put(p: CompiledPolicy): void {
    // Writing an entry removes its old index entries first (its scope may have changed).
    this.drop(p.key);
    this.byKey.set(p.key, p);
    const bucket = this.bucketOf(p);
    if (bucket === undefined) return;
    let list = this.byScope.get(bucket);
    if (list === undefined) {
      list = [];
      this.byScope.set(bucket, list);
    }
    insertSorted(list, p.key);
  }

  private drop(key: string): boolean {
    const old = this.byKey.get(key);
    if (old === undefined) return false;
    this.byKey.delete(key);
    const bucket = this.bucketOf(old);
    if (bucket !== undefined) {
      const list = this.byScope.get(bucket);
      if (list !== undefined) {
        removeSorted(list, key);
        if (list.length === 0) this.byScope.delete(bucket);
      }
    }
    return true;
  }
}
