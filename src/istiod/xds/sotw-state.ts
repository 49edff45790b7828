/**
 * One state-of-the-world subscription (one type URL on one connection).
 * Every response carries the full state of the type (all resources for a
 * wildcard subscription, else the named ones), a `version_info` derived from
 * the content, and a fresh nonce. ACK = the client echoes the nonce with that
 * version; NACK = the nonce with `error_detail` and its last accepted
 * version. A request with a nonce other than the last one sent is stale and
 * ignored entirely (SotW requests always repeat the full name list, so the
 * client's next request carries anything the stale one asked for).
 */
import { createHash } from 'node:crypto';
import type { DiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { XdsResource, XdsResourceSource } from './resource-source.js';

export type SotwRequestKind = 'initial' | 'ack' | 'nack' | 'stale' | 'subscription';

export interface SotwResponseBody {
  readonly versionInfo: string;
  readonly resources: readonly XdsResource[];
}

export class SotwSubscription {
  readonly typeUrl: string;
  /** Requested names; empty means wildcard. */
  names = new Set<string>();
  /** Resource names the last response contained (names may have been aliases). */
  private sentNames = new Set<string>();
  mustRespond = false;
  dirty = false;
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

  get wildcard(): boolean {
    return this.names.size === 0;
  }

  /** A wildcard SotW response is the whole type. */
  get isLarge(): boolean {
    return this.wildcard;
  }

  get hasWork(): boolean {
    return this.mustRespond || this.dirty;
  }

  applyRequest(req: DiscoveryRequest, first: boolean): SotwRequestKind {
    const names = new Set(req.resourceNames.filter((n) => n !== '*'));
    if (first) {
      this.names = names;
      this.mustRespond = true;
      return 'initial';
    }
    if (req.responseNonce !== '' && req.responseNonce !== this.nonceSent) return 'stale';
    if (req.errorDetail !== undefined) {
      this.lastNack = req.errorDetail.message || `code ${req.errorDetail.code}`;
      this.lastNackAtMs = Date.now();
      this.versionAcked = req.versionInfo;
      return 'nack';
    }
    let kind: SotwRequestKind = 'subscription';
    if (req.responseNonce !== '') {
      kind = 'ack';
      this.nonceAcked = req.responseNonce;
      this.versionAcked = req.versionInfo;
      this.lastNack = undefined;
      this.lastNackAtMs = undefined;
    }
    if (!sameSet(names, this.names)) {
      this.names = names;
      this.mustRespond = true;
    }
    return kind;
  }

  /** Marks the subscription dirty when a changed name concerns it. */
  enqueue(names: Iterable<string>, changedAtMs: number, source: XdsResourceSource): boolean {
    let queued = false;
    for (const name of names) {
      if (this.wildcard || this.names.has(name) || this.sentNames.has(name)) {
        queued = true;
        break;
      }
      const aliases = source.find(this.typeUrl, name)?.aliases ?? [];
      if (aliases.some((a) => this.names.has(a))) {
        queued = true;
        break;
      }
    }
    if (queued) {
      this.dirty = true;
      if (this.pendingSinceMs === undefined || changedAtMs < this.pendingSinceMs)
        this.pendingSinceMs = changedAtMs;
    }
    return queued;
  }

  /** The full state to send, or undefined when it equals what was last sent and nothing is owed. */
  takeResponse(source: XdsResourceSource): SotwResponseBody | undefined {
    if (!this.hasWork) return undefined;
    const owed = this.mustRespond;
    this.mustRespond = false;
    this.dirty = false;
    let resources: XdsResource[];
    if (this.wildcard) {
      resources = [...source.resources(this.typeUrl).values()];
    } else {
      const byName = new Map<string, XdsResource>();
      for (const key of this.names) {
        const r = source.find(this.typeUrl, key);
        if (r !== undefined) byName.set(r.name, r);
      }
      resources = [...byName.values()];
    }
    resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const versionInfo = contentVersion(resources);
    if (!owed && versionInfo === this.versionSent) {
      this.pendingSinceMs = undefined;
      return undefined;
    }
    this.sentNames = new Set(resources.map((r) => r.name));
    return { versionInfo, resources };
  }

  recordSent(nonce: string, version: string): void {
    this.nonceSent = nonce;
    this.versionSent = version;
    this.responsesSent++;
    this.pendingSinceMs = undefined;
  }
}

/** A short hash of the names and versions: equal state, equal version. */
export function contentVersion(resources: readonly XdsResource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(r.name).update('\0').update(r.version).update('\n');
  return h.digest('hex').slice(0, 16);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
