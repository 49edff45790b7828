/**
 * Typed ADS test clients (delta and SotW) over real gRPC. Responses queue up
 * and are taken with `next()` (bounded wait); requests are built from partial
 * messages with the node added to the first one, as ztunnel does.
 */
import * as grpc from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import { adsServiceDefinition } from '../../src/shared/grpc/services.js';
import { NodeSchema, type Node } from '../../src/gen/envoy/config/core/v3/base_pb.js';
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';

const AdsClient = grpc.makeGenericClientConstructor(adsServiceDefinition, 'AggregatedDiscoveryService');

export interface TestClientOptions {
  /** Defaults to a ztunnel-shaped id with the given pod name. */
  readonly nodeId?: string;
  readonly podName?: string;
  readonly nodeName?: string;
  readonly metadata?: JsonObject;
  readonly credentials?: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
}

export interface StreamEnd {
  readonly code: grpc.status;
  readonly details: string;
}

export function ztunnelNodeId(podName: string, namespace = 'istio-system', ip = '10.0.0.1'): string {
  return `ztunnel~${ip}~${podName}.${namespace}~${namespace}.svc.cluster.local`;
}

function makeNode(options: TestClientOptions): Node {
  const podName = options.podName ?? 'ztunnel-test';
  return create(NodeSchema, {
    id: options.nodeId ?? ztunnelNodeId(podName),
    metadata: { NODE_NAME: options.nodeName ?? `node-${podName}`, ...(options.metadata ?? {}) },
  });
}

/** A queue of stream messages with bounded waits. */
class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  ended: StreamEnd | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(e: StreamEnd): void {
    this.ended ??= e;
    this.wake();
  }

  get size(): number {
    return this.items.length;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async next(timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.ended !== undefined) {
        throw new Error(
          `${what}: stream ended (${this.ended.code} ${this.ended.details}) before a response arrived`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async none(ms: number, what: string): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.items.length > 0)
      throw new Error(`${what}: expected no response within ${ms} ms, got ${this.items.length}`);
  }

  async waitEnd(timeoutMs: number): Promise<StreamEnd> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream did not end within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.ended;
  }
}

abstract class BaseClient<Req, Resp> {
  protected readonly client: grpc.Client;
  protected readonly call: grpc.ClientDuplexStream<Req, Resp>;
  protected readonly inbox = new Inbox<Resp>();
  protected readonly node: Node;
  private nodeSent = false;

  constructor(address: string, method: string, options: TestClientOptions) {
    this.node = makeNode(options);
    // ztunnel accepts decoded messages up to 200 MiB; a full sync exceeds gRPC's 4 MiB default.
    this.client = new AdsClient(address, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 200 * 1024 * 1024,
      ...options.channelOptions,
    });
    const start = (this.client as unknown as Record<string, () => grpc.ClientDuplexStream<Req, Resp>>)[
      method
    ];
    if (start === undefined) throw new Error(`ADS client has no method ${method}`);
    this.call = start.call(this.client);
    this.call.on('data', (m: Resp) => this.inbox.push(m));
    this.call.on('error', (e: grpc.ServiceError) => this.inbox.end({ code: e.code, details: e.details }));
    this.call.on('status', (s: grpc.StatusObject) => this.inbox.end({ code: s.code, details: s.details }));
  }

  /** Responses received and not yet taken. */
  get queued(): number {
    return this.inbox.size;
  }

  get ended(): StreamEnd | undefined {
    return this.inbox.ended;
  }

  protected withNode<T extends { node?: Node }>(req: T): T {
    if (!this.nodeSent && req.node === undefined) req.node = this.node;
    this.nodeSent = true;
    return req;
  }

  /** The next response (waits up to `timeoutMs`). */
  next(timeoutMs = 3000): Promise<Resp> {
    return this.inbox.next(timeoutMs, 'xds test client');
  }

  /** Fails if a response arrives within `ms`. */
  expectNone(ms = 300): Promise<void> {
    return this.inbox.none(ms, 'xds test client');
  }

  /** Waits for the server to end the stream. */
  waitEnd(timeoutMs = 3000): Promise<StreamEnd> {
    return this.inbox.waitEnd(timeoutMs);
  }

  /** Stops reading from the stream, so HTTP/2 flow control pushes back on the server. */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  /** Half-closes, cancels and closes the channel. */
  close(): void {
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}

export class DeltaXdsClient extends BaseClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  constructor(address: string, options: TestClientOptions = {}) {
    super(address, 'deltaAggregatedResources', options);
  }

  send(init: MessageInitShape<typeof DeltaDiscoveryRequestSchema>): void {
    this.call.write(this.withNode(create(DeltaDiscoveryRequestSchema, init)));
  }

  /** A first or later request subscribing to names (none = wildcard on the first request). */
  subscribe(
    typeUrl: string,
    names: readonly string[] = [],
    more: { unsubscribe?: readonly string[]; initialResourceVersions?: Record<string, string> } = {},
  ): void {
    this.send({
      typeUrl,
      resourceNamesSubscribe: [...names],
      resourceNamesUnsubscribe: [...(more.unsubscribe ?? [])],
      initialResourceVersions: more.initialResourceVersions ?? {},
    });
  }

  unsubscribe(typeUrl: string, names: readonly string[]): void {
    this.send({ typeUrl, resourceNamesUnsubscribe: [...names] });
  }

  ack(resp: DeltaDiscoveryResponse): void {
    this.send({ typeUrl: resp.typeUrl, responseNonce: resp.nonce });
  }

  nack(resp: DeltaDiscoveryResponse, message: string, code = 3): void {
    this.send({ typeUrl: resp.typeUrl, responseNonce: resp.nonce, errorDetail: { code, message } });
  }
}

export class SotwXdsClient extends BaseClient<DiscoveryRequest, DiscoveryResponse> {
  constructor(address: string, options: TestClientOptions = {}) {
    super(address, 'streamAggregatedResources', options);
  }

  send(init: MessageInitShape<typeof DiscoveryRequestSchema>): void {
    this.call.write(this.withNode(create(DiscoveryRequestSchema, init)));
  }

  request(typeUrl: string, names: readonly string[] = [], last?: DiscoveryResponse): void {
    this.send({
      typeUrl,
      resourceNames: [...names],
      versionInfo: last?.versionInfo ?? '',
      responseNonce: last?.nonce ?? '',
    });
  }

  ack(resp: DiscoveryResponse, names: readonly string[] = []): void {
    this.request(resp.typeUrl, names, resp);
  }

  nack(
    resp: DiscoveryResponse,
    lastGoodVersion: string,
    message: string,
    names: readonly string[] = [],
  ): void {
    this.send({
      typeUrl: resp.typeUrl,
      resourceNames: [...names],
      versionInfo: lastGoodVersion,
      responseNonce: resp.nonce,
      errorDetail: { code: 3, message },
    });
  }
}

/** The names of the resources of a delta response, sorted. */
export function resourceNames(resp: DeltaDiscoveryResponse): string[] {
  return resp.resources.map((r) => r.name).sort();
}
