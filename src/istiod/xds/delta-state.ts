/**
 * One delta xDS subscription (one type URL on one connection): what the
 * client asked for, what it holds, and what is waiting to be sent. The rules
 * are Envoy's delta xDS as istiod serves ztunnel:
 * - the first request subscribes wildcard when it names nothing; `*` is an
 *   explicit wildcard; subscribing and unsubscribing `*` in one request
 *   (ztunnel's on-demand mode) leaves the client subscribed to nothing;
 * - every name in `resource_names_subscribe` is answered, even unchanged; a
 *   name that resolves to nothing comes back in `removed_resources`;
 * - `initial_resource_versions` seeds what the client holds, so unchanged
 *   resources are not resent and vanished ones are sent as removed;
 * - a NACK (error_detail set) keeps the last acknowledged version; a request
 *   carrying a nonce other than the last one sent is stale: its ACK/NACK is
 *   ignored (and counted), but its subscription changes still apply because
 *   delta subscriptions are cumulative and the client never repeats them.
 *
 * Pending work is a set of names, so repeated changes of one name merge and
 * the memory a slow client costs is bounded by the number of resources.
 *
 * What the client holds is tracked per name only for explicit (on-demand)
 * subscriptions, which are small. A wildcard subscriber holds everything the
 * source serves; tracking 10,000 names for each of 100 agents would cost
 * a million map entries, so wildcard subscriptions keep only the versions
 * announced on reconnect until the first full sync, and always send removals.
 */
import type { DeltaDiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { XdsResource, XdsResourceSource } from './resource-source.js';

export const WILDCARD = '*';

/** Pending names beyond which a push counts as large (see PushThrottle). */
export const LARGE_PUSH_NAMES = 1000;

/** How a request was classified, for metrics and logs. */
export type DeltaRequestKind = 'initial' | 'ack' | 'nack' | 'stale' | 'subscription';

export interface DeltaResponseBody {
  readonly resources: readonly XdsResource[];
  readonly removed: readonly string[];
}

export class DeltaSubscription {
  readonly typeUrl: string;
  wildcard = false;
  /** Names and aliases the client subscribed to explicitly (never `*`). */
  readonly subscribed = new Set<string>();
  /** Resource name -> the version the client holds (explicit subscriptions only; empty while wildcard). */
  readonly known = new Map<string, string>();
  /** Wildcard only: `initial_resource_versions` of the first request, until the first full sync. */
  private initialVersions: Map<string, string> | undefined;
  /** Wildcard only: removed names kept when the queue collapsed into a full resync. */
  private readonly pendingRemoved = new Set<string>();
  /** Subscribed alias -> the resource name it resolved to. */
  readonly aliasOf = new Map<string, string>();

  /** Changed names waiting to be looked at. */
  readonly pending = new Set<string>();
  /** Names that must be answered even when the client holds them already. */
  readonly forced = new Set<string>();
  /** Compare the whole subscription against what the client holds (instead of `pending`). */
  fullResync = false;
  /** A response is owed even if it would be empty (initial requests). */
  mustRespond = false;
  /** The source change sequence a full sync reflected: batches up to it are already sent. */
  private syncedThroughSeq = -1;
  /** Earliest change time (ms since epoch) among the pending changes, for convergence time. */
  pendingSinceMs: number | undefined;

  nonceSent = '';
  versionSent = '';
  nonceAcked = '';
  versionAcked = '';
  lastNack: string | undefined;
  lastNackAtMs: number | undefined;
  responsesSent = 0;

  constructor(typeUrl: string) {
    this.typeUrl = typeUrl;
  }

  /** Pending work this big is a (near) full sync. */
  get isLarge(): boolean {
    return this.fullResync || this.pending.size + this.forced.size > LARGE_PUSH_NAMES;
  }

  get hasWork(): boolean {
    return this.mustRespond || this.fullResync || this.pending.size > 0 || this.forced.size > 0;
  }

  /**
   * Applies one request from the client. `first` is true for the first
   * request of this type on the stream.
   */
  applyRequest(req: DeltaDiscoveryRequest, first: boolean): DeltaRequestKind {
    let kind: DeltaRequestKind;
    if (first) {
      kind = 'initial';
      this.mustRespond = true;
      const subscribe = req.resourceNamesSubscribe;
      this.wildcard =
        subscribe.length === 0 ||
        (subscribe.includes(WILDCARD) && !req.resourceNamesUnsubscribe.includes(WILDCARD));
      const initial = Object.entries(req.initialResourceVersions);
      if (this.wildcard) {
        this.fullResync = true;
        if (initial.length > 0) this.initialVersions = new Map(initial);
      } else {
        for (const [name, version] of initial) {
          this.known.set(name, version);
          this.subscribed.add(name);
          this.pending.add(name);
        }
      }
    } else if (req.responseNonce !== '' && req.responseNonce !== this.nonceSent) {
      kind = 'stale';
    } else if (req.errorDetail !== undefined) {
      kind = 'nack';
      this.lastNack = req.errorDetail.message || `code ${req.errorDetail.code}`;
      this.lastNackAtMs = Date.now();
    } else if (req.responseNonce !== '') {
      kind = 'ack';
      this.nonceAcked = req.responseNonce;
      this.versionAcked = this.versionSent;
      this.lastNack = undefined;
      this.lastNackAtMs = undefined;
    } else {
      kind = 'subscription';
    }
    this.applySubscriptionChanges(req.resourceNamesSubscribe, req.resourceNamesUnsubscribe);
    return kind;
  }

  private applySubscriptionChanges(subscribe: readonly string[], unsubscribe: readonly string[]): void {
    for (const name of subscribe) {
      if (name === WILDCARD) {
        if (!this.wildcard) {
          // What explicit subscriptions hold still counts: the full sync skips it.
          this.wildcard = true;
          this.fullResync = true;
          this.initialVersions = new Map(this.known);
          this.known.clear();
        }
        continue;
      }
      this.subscribed.add(name);
      this.forced.add(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) {
        if (this.wildcard) {
          // Explicitly subscribed names keep flowing (by `subscribed`); their versions are learnt again on send.
          this.wildcard = false;
          this.fullResync = false;
          this.initialVersions = undefined;
          this.pendingRemoved.clear();
        }
        continue;
      }
      this.subscribed.delete(name);
      this.forced.delete(name);
      this.pending.delete(name);
      const resolved = this.aliasOf.get(name);
      this.aliasOf.delete(name);
      if (!this.wildcard) {
        this.known.delete(name);
        if (resolved !== undefined && !this.isWanted(resolved)) this.known.delete(resolved);
      }
    }
  }

  private isWanted(name: string): boolean {
    if (this.subscribed.has(name)) return true;
    for (const resolved of this.aliasOf.values()) if (resolved === name) return true;
    return false;
  }

  /**
   * Whether a change of `name` concerns this subscription. Wildcard takes
   * everything; otherwise the name (or one of its aliases) must be
   * subscribed or already held.
   */
  wants(name: string, source: XdsResourceSource): boolean {
    if (this.wildcard || this.subscribed.has(name) || this.known.has(name)) return true;
    const resource = source.find(this.typeUrl, name);
    return resource?.aliases?.some((a) => this.subscribed.has(a)) ?? false;
  }

  /**
   * Queues changed names (name -> sequence number of its last source
   * change). A change made before this subscription's last full sync is
   * already in what was sent and is skipped. Past `maxPending` names the
   * queue collapses into a full resync.
   */
  enqueue(
    changes: Iterable<string> | ReadonlyMap<string, number>,
    changedAtMs: number,
    source: XdsResourceSource,
    maxPending: number,
  ): boolean {
    let queued = false;
    const entries: Iterable<[string, number]> =
      changes instanceof Map
        ? changes
        : [...(changes as Iterable<string>)].map((n) => [n, Number.MAX_SAFE_INTEGER]);
    for (const [name, seq] of entries) {
      if (seq <= this.syncedThroughSeq) continue;
      if (!this.wants(name, source)) continue;
      queued = true;
      if (this.fullResync) {
        // A full resync finds updates by itself; removals it cannot see without per-name tracking.
        if (this.wildcard && source.find(this.typeUrl, name) === undefined) this.pendingRemoved.add(name);
        continue;
      }
      this.pending.add(name);
      if (this.pending.size > maxPending) this.collapse(source);
    }
    if (queued && (this.pendingSinceMs === undefined || changedAtMs < this.pendingSinceMs)) {
      this.pendingSinceMs = changedAtMs;
    }
    return queued;
  }

  private collapse(source: XdsResourceSource): void {
    if (this.wildcard) {
      for (const name of this.pending) {
        if (source.find(this.typeUrl, name) === undefined) this.pendingRemoved.add(name);
      }
    }
    this.pending.clear();
    this.fullResync = true;
  }

  /**
   * Turns the pending work into a response body against the current source,
   * records what the client will hold, and clears the queue. Returns
   * undefined when nothing needs sending. `currentSeq` is the source change
   * sequence the source reflects now.
   */
  takeResponse(source: XdsResourceSource, currentSeq = -1): DeltaResponseBody | undefined {
    if (!this.hasWork) return undefined;
    const resources: XdsResource[] = [];
    const removed: string[] = [];
    const emitted = new Set<string>();
    const removedSet = new Set<string>();
    const consider = (key: string, resource: XdsResource | undefined): void => {
      const forced = this.forced.has(key);
      if (resource === undefined) {
        if (removedSet.has(key)) return;
        // Unknown names and vanished names are both answered as removed (Envoy's delta rules).
        if (this.wildcard || forced || this.known.has(key) || this.subscribed.has(key)) {
          this.known.delete(key);
          removed.push(key);
          removedSet.add(key);
        }
        return;
      }
      if (emitted.has(resource.name)) return;
      if (!this.wildcard && !forced && !this.wantsResource(key, resource)) return;
      if (key !== resource.name) this.aliasOf.set(key, resource.name);
      const held = this.wildcard ? this.initialVersions?.get(resource.name) : this.known.get(resource.name);
      if (!forced && held === resource.version) return;
      emitted.add(resource.name);
      resources.push(resource);
      if (!this.wildcard) this.known.set(resource.name, resource.version);
    };

    if (this.fullResync) {
      this.syncedThroughSeq = currentSeq;
      if (this.wildcard) {
        for (const resource of source.resources(this.typeUrl).values()) consider(resource.name, resource);
        for (const name of this.initialVersions?.keys() ?? []) {
          if (!emitted.has(name) && source.find(this.typeUrl, name) === undefined) consider(name, undefined);
        }
        for (const name of this.pendingRemoved) consider(name, source.find(this.typeUrl, name));
        this.initialVersions = undefined;
        this.pendingRemoved.clear();
      } else {
        const keys = new Set<string>([...this.subscribed, ...this.known.keys(), ...this.aliasOf.keys()]);
        for (const key of keys) consider(key, source.find(this.typeUrl, key));
      }
    } else {
      for (const key of this.pending) consider(key, source.find(this.typeUrl, key));
    }
    for (const key of this.forced) consider(key, source.find(this.typeUrl, key));

    const owed = this.mustRespond;
    this.pending.clear();
    this.forced.clear();
    this.fullResync = false;
    this.mustRespond = false;
    if (resources.length === 0 && removed.length === 0 && !owed) {
      this.pendingSinceMs = undefined;
      return undefined;
    }
    return { resources, removed };
  }

  private wantsResource(key: string, resource: XdsResource): boolean {
    if (this.subscribed.has(key) || this.subscribed.has(resource.name) || this.known.has(resource.name))
      return true;
    return resource.aliases?.some((a) => this.subscribed.has(a)) ?? false;
  }

  /** Records a response handed to the stream. */
  recordSent(nonce: string, version: string): void {
    this.nonceSent = nonce;
    this.versionSent = version;
    this.responsesSent++;
    this.pendingSinceMs = undefined;
  }
}
