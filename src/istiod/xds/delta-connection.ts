/** A DeltaAggregatedResources stream (what ztunnel uses). */
import type * as grpc from '@grpc/grpc-js';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { DeltaDiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { authorizeSubscription, type XdsCaller } from './auth.js';
import { XdsConnection, type BuiltResponse, type ConnectionContext } from './connection.js';
import { DeltaSubscription } from './delta-state.js';
import { encodeDeltaResponse } from './encode.js';
import { metricType } from './metrics.js';
import { syncState, type TypeSyncStatus } from './sync-status.js';

export class DeltaConnection extends XdsConnection<DeltaDiscoveryRequest, DeltaSubscription> {
  readonly protocol = 'delta' as const;

  constructor(
    ctx: ConnectionContext,
    call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, Uint8Array>,
    id: string,
    caller: XdsCaller,
  ) {
    super(ctx, call, id, caller);
  }

  protected nodeOf(req: DeltaDiscoveryRequest): Node | undefined {
    return req.node;
  }

  protected handleRequest(req: DeltaDiscoveryRequest): void {
    const typeUrl = req.typeUrl;
    const found = this.subscriptionFor(typeUrl, (t) => new DeltaSubscription(t));
    if (found === undefined) return;
    const { sub, first } = found;
    const kind = sub.applyRequest(req, first);
    authorizeSubscription(this.caller, typeUrl, sub.wildcard, sub.subscribed);
    const type = metricType(typeUrl);
    switch (kind) {
      case 'nack':
        this.ctx.metrics.rejects.labels(type).inc();
        this.log.warn(
          {
            node: this.node?.rawId,
            typeUrl,
            nonce: req.responseNonce,
            code: req.errorDetail?.code,
            detail: sub.lastNack,
          },
          'nacked xds push',
        );
        break;
      case 'stale':
        this.expiredNonce(typeUrl, req.responseNonce, sub.nonceSent);
        break;
      case 'initial':
        this.log.debug(
          {
            typeUrl,
            wildcard: sub.wildcard,
            subscribe: req.resourceNamesSubscribe.length,
            initialVersions: Object.keys(req.initialResourceVersions).length,
          },
          'xds subscription started',
        );
        break;
      default:
        break;
    }
    if (sub.hasWork) this.schedule();
  }

  protected enqueueInto(
    sub: DeltaSubscription,
    changes: ReadonlyMap<string, number>,
    changedAtMs: number,
  ): boolean {
    return sub.enqueue(changes, changedAtMs, this.ctx.source, this.ctx.maxQueuedPushes);
  }

  protected build(sub: DeltaSubscription): BuiltResponse | undefined {
    const body = sub.takeResponse(this.ctx.source, this.ctx.changeSeq());
    if (body === undefined) return undefined;
    const nonce = this.ctx.nextNonce();
    const version = this.ctx.pushVersion();
    const bytes = encodeDeltaResponse({
      systemVersionInfo: version,
      typeUrl: sub.typeUrl,
      nonce,
      resources: body.resources,
      removed: body.removed,
    });
    return { bytes, nonce, version, resourceCount: body.resources.length, removedCount: body.removed.length };
  }

  protected typeStatus(sub: DeltaSubscription): TypeSyncStatus {
    return {
      typeUrl: sub.typeUrl,
      wildcard: sub.wildcard,
      subscribed: [...sub.subscribed].sort(),
      // A wildcard subscriber holds the whole type once anything was sent.
      resourceCount: sub.wildcard
        ? sub.nonceSent === ''
          ? 0
          : this.ctx.source.resources(sub.typeUrl).size
        : sub.known.size,
      nonceSent: sub.nonceSent,
      nonceAcked: sub.nonceAcked,
      versionSent: sub.versionSent,
      versionAcked: sub.versionAcked,
      state: syncState(sub.nonceSent, sub.nonceAcked, sub.lastNack),
      ...(sub.lastNack !== undefined ? { lastNack: sub.lastNack } : {}),
      ...(sub.lastNackAtMs !== undefined ? { lastNackAt: new Date(sub.lastNackAtMs).toISOString() } : {}),
      responsesSent: sub.responsesSent,
      pending: sub.hasWork,
    };
  }
}
