/** A StreamAggregatedResources (state of the world) stream. */
import type * as grpc from '@grpc/grpc-js';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { DiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { XdsCaller } from './auth.js';
import { XdsConnection, type BuiltResponse, type ConnectionContext } from './connection.js';
import { encodeSotwResponse } from './encode.js';
import { metricType } from './metrics.js';
import { SotwSubscription } from './sotw-state.js';
import { syncState, type TypeSyncStatus } from './sync-status.js';

export class SotwConnection extends XdsConnection<DiscoveryRequest, SotwSubscription> {
  readonly protocol = 'sotw' as const;
  private readonly resourceCounts = new Map<string, number>();

  constructor(
    ctx: ConnectionContext,
    call: grpc.ServerDuplexStream<DiscoveryRequest, Uint8Array>,
    id: string,
    caller: XdsCaller,
  ) {
    super(ctx, call, id, caller);
  }

  protected nodeOf(req: DiscoveryRequest): Node | undefined {
    return req.node;
  }

  protected handleRequest(req: DiscoveryRequest): void {
    const typeUrl = req.typeUrl;
    const found = this.subscriptionFor(typeUrl, (t) => new SotwSubscription(t));
    if (found === undefined) return;
    const { sub, first } = found;
    const kind = sub.applyRequest(req, first);
    const type = metricType(typeUrl);
    if (kind === 'nack') {
      this.ctx.metrics.rejects.labels(type).inc();
      this.log.warn(
        {
          node: this.node?.rawId,
          typeUrl,
          nonce: req.responseNonce,
          version: req.versionInfo,
          detail: sub.lastNack,
        },
        'nacked xds push',
      );
    } else if (kind === 'stale') {
      this.expiredNonce(typeUrl, req.responseNonce, sub.nonceSent);
    }
    if (sub.hasWork) this.schedule();
  }

  protected enqueueInto(
    sub: SotwSubscription,
    changes: ReadonlyMap<string, number>,
    changedAtMs: number,
  ): boolean {
    return sub.enqueue(changes.keys(), changedAtMs, this.ctx.source);
  }

  protected build(sub: SotwSubscription): BuiltResponse | undefined {
    const body = sub.takeResponse(this.ctx.source);
    if (body === undefined) return undefined;
    const nonce = this.ctx.nextNonce();
    const bytes = encodeSotwResponse({
      versionInfo: body.versionInfo,
      typeUrl: sub.typeUrl,
      nonce,
      resources: body.resources,
    });
    this.resourceCounts.set(sub.typeUrl, body.resources.length);
    return { bytes, nonce, version: body.versionInfo, resourceCount: body.resources.length, removedCount: 0 };
  }

  protected typeStatus(sub: SotwSubscription): TypeSyncStatus {
    return {
      typeUrl: sub.typeUrl,
      wildcard: sub.wildcard,
      subscribed: [...sub.names].sort(),
      resourceCount: this.resourceCounts.get(sub.typeUrl) ?? 0,
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
