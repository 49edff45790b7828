/**
 * One ADS stream: the per-connection push queue and writer shared by the
 * delta and SotW protocols.
 *
 * Each connection drains its own queue, so a slow or stuck client never
 * delays another: responses are built lazily from the queued names when the
 * stream can take them (one response in flight; the next waits for the
 * transport to take the previous one), and a stream whose write does not
 * complete within `sendTimeoutMs` is reset.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { constants as http2Constants } from 'node:http2';
import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import { authorizeNode, authorizeType, describeCaller, type XdsCaller } from './auth.js';
import { XdsError } from './errors.js';
import { metricType, type XdsMetrics } from './metrics.js';
import { decodeNode, type XdsNode } from './node.js';
import type { PushThrottle } from './push-throttle.js';
import type { XdsResourceSource } from './resource-source.js';
import type { SyncStatus, TypeSyncStatus } from './sync-status.js';

/** What the server lends every connection. */
export interface ConnectionContext {
  readonly source: XdsResourceSource;
  readonly metrics: XdsMetrics;
  readonly logger: Logger;
  readonly maxQueuedPushes: number;
  readonly sendTimeoutMs: number;
  /** Shared by every connection: bounds the full syncs in flight. */
  readonly throttle: PushThrottle;
  /** A nonce never handed out before by this server. */
  nextNonce(): string;
  /** The server's current push version (system_version_info). */
  pushVersion(): string;
  /** Sequence number of the last source change seen (what the source reflects now). */
  changeSeq(): number;
  /** Called once the node is known (first request). */
  onNode(conn: ConnectionHandle): void;
  /** Called once when the stream is gone. */
  onClosed(conn: ConnectionHandle): void;
}

/** The protocol-independent face of a connection, as the server holds it. */
export interface ConnectionHandle {
  readonly id: string;
  readonly protocol: 'delta' | 'sotw';
  readonly node: XdsNode | undefined;
  /** Who opened the stream (authenticated before the connection was made). */
  readonly caller: XdsCaller;
  readonly bytesSent: number;
  readonly isClosed: boolean;
  /** `changes`: changed name -> sequence number of its last source change. */
  enqueue(typeUrl: string, changes: ReadonlyMap<string, number>, changedAtMs: number): void;
  syncStatus(): SyncStatus;
  close(graceMs: number): Promise<void>;
  reset(): void;
}

/** A response ready for the wire. */
export interface BuiltResponse {
  readonly bytes: Uint8Array;
  readonly nonce: string;
  readonly version: string;
  readonly resourceCount: number;
  readonly removedCount: number;
}

export interface Subscription {
  readonly typeUrl: string;
  readonly hasWork: boolean;
  /** The pending work is a full sync (or close to one), so it goes through the push throttle. */
  readonly isLarge: boolean;
  pendingSinceMs: number | undefined;
  recordSent(nonce: string, version: string): void;
}

export abstract class XdsConnection<
  Req,
  Sub extends Subscription = Subscription,
> implements ConnectionHandle {
  readonly id: string;
  readonly peer: string;
  readonly connectedAt = new Date();
  abstract readonly protocol: 'delta' | 'sotw';
  node: XdsNode | undefined;
  /** Total encoded bytes handed to the stream. */
  bytesSent = 0;
  protected readonly subs = new Map<string, Sub>();
  protected readonly log: Logger;
  private scheduled = false;
  /** A response is written and not yet taken by the transport. */
  private inFlight = false;
  private nextTypeIndex = 0;
  /** This connection holds a push-throttle slot until its current write completes. */
  private holdsSlot = false;
  private readonly wake = (): void => this.schedule();
  private stallTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private ending = false;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(
    protected readonly ctx: ConnectionContext,
    protected readonly call: grpc.ServerDuplexStream<Req, Uint8Array>,
    id: string,
    readonly caller: XdsCaller,
  ) {
    this.id = id;
    this.peer = call.getPeer();
    this.log = ctx.logger.child({ conn: id, peer: this.peer });
    call.on('data', (req: Req) => this.onData(req));
    call.on('end', () => this.endStream());
    call.on('error', (err: unknown) => this.finish(`stream error: ${errorMessage(err)}`));
    call.on('cancelled', () => this.finish('cancelled by client'));
    call.on('close', () => this.finish('stream closed'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues changed names of one type (after the server's debounce). */
  enqueue(typeUrl: string, changes: ReadonlyMap<string, number>, changedAtMs: number): void {
    if (this.closed || this.ending) return;
    const sub = this.subs.get(typeUrl);
    if (sub === undefined) return;
    if (this.enqueueInto(sub, changes, changedAtMs)) this.schedule();
  }

  protected abstract enqueueInto(
    sub: Sub,
    changes: ReadonlyMap<string, number>,
    changedAtMs: number,
  ): boolean;
  protected abstract handleRequest(req: Req): void;
  protected abstract nodeOf(req: Req): Parameters<typeof decodeNode>[0];
  protected abstract build(sub: Sub): BuiltResponse | undefined;
  protected abstract typeStatus(sub: Sub): TypeSyncStatus;

  private onData(req: Req): void {
    if (this.closed || this.ending) return;
    try {
      if (this.node === undefined) {
        const node = decodeNode(this.nodeOf(req));
        authorizeNode(this.caller, node);
        this.node = node;
        this.log.info(
          { node: node.rawId, nodeName: node.nodeName, protocol: this.protocol, caller: describeCaller(this.caller) },
          'xds client connected',
        );
        this.ctx.onNode(this);
      }
      this.handleRequest(req);
    } catch (err) {
      this.refuse(err);
    }
  }

  /** Ends the stream for a request it cannot serve: a typed error says why, anything else is INTERNAL. */
  private refuse(err: unknown): void {
    if (err instanceof XdsError && err.code === 'XDS_PERMISSION_DENIED') {
      this.ctx.metrics.authFailures.labels('permission_denied').inc();
      this.log.warn({ caller: describeCaller(this.caller), reason: err.message }, 'xds client not authorized');
      this.fail(GrpcStatus.PERMISSION_DENIED, err.message);
      return;
    }
    if (err instanceof XdsError) {
      this.log.warn({ code: err.code, reason: err.message }, 'xds request refused');
      this.fail(GrpcStatus.INVALID_ARGUMENT, err.message);
      return;
    }
    this.log.error({ err: errorMessage(err) }, 'xds request failed');
    this.fail(GrpcStatus.INTERNAL, 'internal error while handling the xds request');
  }

  /** Schedules the writer on the next turn, so requests and changes of one turn merge. */
  protected schedule(): void {
    if (this.scheduled || this.closed || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  /**
   * Writes at most one response at a time: the next one is built only when
   * the previous write has reached the transport. A client that stops
   * reading therefore holds one response, and its further changes merge in
   * the name queue instead of piling up as encoded messages.
   */
  private pump(): void {
    this.scheduled = false;
    if (this.closed || this.inFlight) return;
    const subs = [...this.subs.values()];
    // Start after the type written last, so types take turns on a busy stream.
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[(this.nextTypeIndex + i) % subs.length] as Sub;
      if (!sub.hasWork) continue;
      if (sub.isLarge && !this.holdsSlot) {
        if (!this.ctx.throttle.tryAcquire(this.wake)) continue;
        this.holdsSlot = true;
      }
      const startedAt = performance.now();
      const pendingSinceMs = sub.pendingSinceMs;
      const out = this.build(sub);
      if (out === undefined) {
        this.releaseSlot();
        continue;
      }
      this.nextTypeIndex = (this.nextTypeIndex + i + 1) % subs.length;
      sub.recordSent(out.nonce, out.version);
      const type = metricType(sub.typeUrl);
      this.ctx.metrics.pushTime.labels(type).observe((performance.now() - startedAt) / 1000);
      this.ctx.metrics.pushes.labels(type).inc();
      this.ctx.metrics.configSize.labels(type).observe(out.bytes.length);
      if (pendingSinceMs !== undefined) {
        this.ctx.metrics.convergenceTime.observe(Math.max(0, Date.now() - pendingSinceMs) / 1000);
      }
      this.bytesSent += out.bytes.length;
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug(
          {
            typeUrl: sub.typeUrl,
            nonce: out.nonce,
            resources: out.resourceCount,
            removed: out.removedCount,
            bytes: out.bytes.length,
          },
          'xds push',
        );
      }
      this.write(out.bytes);
      return;
    }
  }

  private write(bytes: Uint8Array): void {
    this.inFlight = true;
    const writeStartedAt = performance.now();
    if (this.ctx.sendTimeoutMs > 0) {
      this.stallTimer = setTimeout(() => {
        this.ctx.metrics.writeTimeouts.inc();
        this.log.warn(
          { node: this.node?.rawId, sendTimeoutMs: this.ctx.sendTimeoutMs },
          'xds client took no data; closing',
        );
        this.reset();
      }, this.ctx.sendTimeoutMs);
    }
    this.call.write(bytes, () => {
      this.inFlight = false;
      this.releaseSlot();
      if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      this.ctx.metrics.sendTime.observe((performance.now() - writeStartedAt) / 1000);
      this.schedule();
    });
  }

  /** Ends the stream with an error status (after anything already buffered). */
  protected fail(code: GrpcStatus, details: string): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.call.emit('error', { code, details, name: 'XdsError', message: details });
  }

  /** The client half-closed: answer with OK once buffered responses are out. */
  private endStream(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.call.end();
  }

  /**
   * Resets the HTTP/2 stream at once. An orderly end (trailers) would queue
   * behind the data a stuck client does not read, so the reset goes to the
   * transport stream under the gRPC call.
   */
  reset(): void {
    const stream = findHttp2Stream(this.call);
    if (stream !== undefined) stream.close(http2Constants.NGHTTP2_CANCEL);
    else this.call.destroy();
    this.finish('reset');
  }

  /** Ends the stream gracefully; resets it if it is not gone within `graceMs`. */
  close(graceMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    if (!this.ending) {
      this.ending = true;
      this.call.end();
    }
    const timer = setTimeout(() => this.reset(), graceMs);
    return done.finally(() => clearTimeout(timer));
  }

  private releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.ctx.throttle.release();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.throttle.cancel(this.wake);
    this.releaseSlot();
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.log.info({ node: this.node?.rawId, reason, bytesSent: this.bytesSent }, 'xds client disconnected');
    this.ctx.onClosed(this);
    for (const resolve of this.closedWaiters.splice(0)) resolve();
  }

  syncStatus(): SyncStatus {
    const types = [...this.subs.values()].map((s) => this.typeStatus(s));
    types.sort((a, b) => (a.typeUrl < b.typeUrl ? -1 : a.typeUrl > b.typeUrl ? 1 : 0));
    return {
      connectionId: this.id,
      protocol: this.protocol,
      nodeId: this.node?.rawId ?? '',
      nodeName: this.node?.nodeName ?? '',
      clusterId: this.node?.clusterId ?? '',
      connectedAt: this.connectedAt.toISOString(),
      peer: this.peer,
      types,
    };
  }

  /** Whether the type URL is served; requests for others get no answer, as in istiod. */
  protected served(typeUrl: string): boolean {
    return this.ctx.source.typeUrls.includes(typeUrl);
  }

  /**
   * The subscription a request for `typeUrl` applies to, made on its first
   * request; undefined (and logged) for a type this server does not serve.
   * Throws XDS_PERMISSION_DENIED for a type the caller may not receive.
   */
  protected subscriptionFor(typeUrl: string, create: (typeUrl: string) => Sub): { sub: Sub; first: boolean } | undefined {
    if (!this.served(typeUrl)) {
      this.log.debug({ typeUrl }, 'xds request for a type this server does not serve');
      return undefined;
    }
    authorizeType(this.caller, typeUrl);
    const existing = this.subs.get(typeUrl);
    if (existing !== undefined) return { sub: existing, first: false };
    const sub = create(typeUrl);
    this.subs.set(typeUrl, sub);
    return { sub, first: true };
  }

  /** Counts and logs a request that answers a nonce other than the last one sent. */
  protected expiredNonce(typeUrl: string, nonce: string, nonceSent: string): void {
    this.ctx.metrics.expiredNonce.labels(metricType(typeUrl)).inc();
    this.log.debug({ typeUrl, nonce, nonceSent }, 'xds request with an expired nonce');
  }
}

interface ClosableStream {
  close(code: number): void;
}

/**
 * grpc-js keeps the HTTP/2 stream on the innermost call object
 * (`call.call[.nextCall...].stream`); it has no public way to reset a call.
 */
function findHttp2Stream(call: object): ClosableStream | undefined {
  let node: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && typeof node === 'object' && node !== null; depth++) {
    const stream = (node as { stream?: unknown }).stream;
    if (
      typeof stream === 'object' &&
      stream !== null &&
      typeof (stream as { close?: unknown }).close === 'function' &&
      'rstCode' in stream
    ) {
      return stream as unknown as ClosableStream;
    }
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}
