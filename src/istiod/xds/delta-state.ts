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
 */
import type { DeltaDiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { XdsResource, XdsResourceSource } from './resource-source.js';

export const WILDCARD = '*';

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
  /** Resource name -> the version the client holds, as far as the server knows. */
  readonly known = new Map<string, string>();
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
      this.wildcard = req.resourceNamesSubscribe.length === 0;
      if (this.wildcard) this.fullResync = true;
      for (const [name, version] of Object.entries(req.initialResourceVersions)) {
        this.known.set(name, version);
        if (!this.wildcard) {
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
          this.wildcard = true;
          this.fullResync = true;
        }
        continue;
      }
      this.subscribed.add(name);
      this.forced.add(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) {
        if (this.wildcard) {
          this.wildcard = false;
          this.fullResync = false;
          this.dropUnsubscribedKnown();
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

  /** After leaving wildcard, forget what the client holds only because of it. */
  private dropUnsubscribedKnown(): void {
    for (const name of [...this.known.keys()]) {
      if (!this.isWanted(name)) this.known.delete(name);
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
   * Queues changed names. Past `maxPending` names the queue collapses into a
   * full resync, which compares versions instead of remembering names.
   */
  enqueue(names: Iterable<string>, changedAtMs: number, source: XdsResourceSource, maxPending: number): boolean {
    let queued = false;
    for (const name of names) {
      if (!this.wants(name, source)) continue;
      queued = true;
      if (this.fullResync) continue;
      this.pending.add(name);
      if (this.pending.size > maxPending) {
        this.pending.clear();
        this.fullResync = true;
      }
    }
    if (queued && (this.pendingSinceMs === undefined || changedAtMs < this.pendingSinceMs)) {
      this.pendingSinceMs = changedAtMs;
    }
    return queued;
  }

  /**
   * Turns the pending work into a response body against the current source,
   * records what the client will hold, and clears the queue. Returns
   * undefined when nothing needs sending.
   */
  takeResponse(source: XdsResourceSource): DeltaResponseBody | undefined {
    if (!this.hasWork) return undefined;
    const resources: XdsResource[] = [];
    const removed: string[] = [];
    const emitted = new Set<string>();
    const removedSet = new Set<string>();
    const consider = (key: string, resource: XdsResource | undefined): void => {
      const forced = this.forced.has(key);
      if (resource === undefined) {
        if (removedSet.has(key)) return;
        if (this.known.has(key) || forced) {
          this.known.delete(key);
          removed.push(key);
          removedSet.add(key);
        }
        return;
      }
      if (emitted.has(resource.name)) return;
      if (!this.wildcard && !forced && !this.wantsResource(key, resource)) return;
      if (key !== resource.name) this.aliasOf.set(key, resource.name);
      if (!forced && this.known.get(resource.name) === resource.version) return;
      emitted.add(resource.name);
      resources.push(resource);
      this.known.set(resource.name, resource.version);
    };

    if (this.fullResync) {
      if (this.wildcard) {
        for (const resource of source.resources(this.typeUrl).values()) consider(resource.name, resource);
        for (const name of [...this.known.keys()]) {
          if (!emitted.has(name) && source.find(this.typeUrl, name) === undefined) consider(name, undefined);
        }
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
    if (this.subscribed.has(key) || this.subscribed.has(resource.name) || this.known.has(resource.name)) return true;
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
