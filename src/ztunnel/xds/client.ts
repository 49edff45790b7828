/**
 * The node agent's delta ADS client: one stream to istiod, wildcard
 * subscriptions to Address and Authorization, every push decoded and
 * checked whole, applied to the WorkloadStore in one call, then ACKed (or
 * NACKed by name with the good resources still applied).
 *
 * When the stream ends the agent keeps serving from the state it holds and
 * reconnects with jittered exponential backoff (immediately after a normal
 * close or a GOAWAY), telling istiod what it holds through
 * `initial_resource_versions` so unchanged resources are not resent.
 */
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { adsServiceDefinition } from '../../shared/grpc/services.js';
import { errorMessage } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logging.js';
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, type StoreDelta, type WorkloadStore } from '../state/index.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { decodeResources, nackMessage, WATCHED_TYPE_URLS } from './decode.js';
import { XdsClientError } from './errors.js';
import { XdsClientMetrics, type TerminationReason } from './metrics.js';
import { agentNode, type AgentIdentity } from './node.js';

/** ztunnel accepts decoded messages up to 200 MiB; a full sync of a large mesh exceeds gRPC's 4 MiB default. */
export const MAX_RESPONSE_BYTES = 200 * 1024 * 1024;
export const KEEPALIVE_MS = 30_000;
/** google.rpc.Code INVALID_ARGUMENT, the code of a NACK's error_detail. */
const INVALID_ARGUMENT = 3;
const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export interface XdsClientOptions {
  /** istiod's `host:port`: 15012 with `tls`, 15010 plaintext for the local cluster. */
  readonly address: string;
  /** Verify istiod against the mesh root; absent = plaintext. */
  readonly tls?: { readonly rootPem: string; readonly serverName?: string };
  /** Sent as `authorization: Bearer <token>` on every stream; a function is read at each connect. */
  readonly token?: string | (() => string);
  /** Sent as `clusterid` gRPC metadata, and as node metadata CLUSTER_ID unless the agent names one. */
  readonly clusterId?: string;
  readonly agent: AgentIdentity;
  readonly store: WorkloadStore;
  readonly registry?: Registry;
  readonly logger?: Logger;
  readonly backoff?: BackoffOptions;
}

export interface XdsTypeStatus {
  readonly typeUrl: string;
  /** Resources of this type in the store. */
  readonly resources: number;
  readonly lastNonce: string;
  readonly acks: number;
  readonly nacks: number;
  readonly lastNack: string | undefined;
  /** Names rejected in their latest version (their last good version, if any, stays in force). */
  readonly rejected: readonly string[];
  readonly synced: boolean;
}

export interface XdsClientStatus {
  readonly address: string;
  readonly connected: boolean;
  readonly lastError: string | undefined;
  readonly streams: number;
  readonly types: readonly XdsTypeStatus[];
}

interface TypeState {
  readonly typeUrl: string;
  /** name -> version of every resource held and accepted: what initial_resource_versions reports. */
  readonly versions: Map<string, string>;
  readonly rejected: Map<string, string>;
  lastNonce: string;
  acks: number;
  nacks: number;
  lastNack: string | undefined;
  synced: boolean;
}

interface Received {
  readonly response: DeltaDiscoveryResponse;
  readonly bytes: number;
}

type DeltaCall = grpc.ClientDuplexStream<DeltaDiscoveryRequest, Received>;

/** The delta method only, with responses carrying their encoded size (for istio_xds_message_bytes_total). */
function deltaDefinition(): grpc.ServiceDefinition {
  const entry = Object.entries(adsServiceDefinition).find(([, m]) => m.path === DELTA_PATH);
  if (entry === undefined) throw new XdsClientError('XDS_CLIENT_INVALID_OPTION', 'ADS definition has no delta method');
  const [key, method] = entry;
  return {
    [key]: {
      ...method,
      responseDeserialize: (b: Buffer): Received => ({
        response: method.responseDeserialize(b) as DeltaDiscoveryResponse,
        bytes: b.length,
      }),
    },
  } as grpc.ServiceDefinition;
}

const DeltaClient = grpc.makeGenericClientConstructor(deltaDefinition(), 'AggregatedDiscoveryService');

export class XdsClient {
  readonly metrics: XdsClientMetrics;
  private readonly options: XdsClientOptions;
  private readonly store: WorkloadStore;
  private readonly log: Logger;
  private readonly node: Node;
  private readonly backoff: Backoff;
  private readonly types = new Map<string, TypeState>();
  private client: grpc.Client | undefined;
  private call: DeltaCall | undefined;
  private receivedOnStream = false;
  private connected = false;
  private lastError: string | undefined;
  private streams = 0;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(options: XdsClientOptions) {
    this.options = options;
    this.store = options.store;
    this.log = (options.logger ?? silentLogger).child({ component: 'xds', xdsAddress: options.address });
    this.metrics = new XdsClientMetrics(options.registry ?? new Registry());
    this.node = agentNode({ ...options.agent, clusterId: options.agent.clusterId ?? options.clusterId });
    this.backoff = new Backoff(options.backoff);
    for (const typeUrl of WATCHED_TYPE_URLS) {
      this.types.set(typeUrl, {
        typeUrl,
        versions: new Map(),
        rejected: new Map(),
        lastNonce: '',
        acks: 0,
        nacks: 0,
        lastNack: undefined,
        synced: false,
      });
    }
  }

  /** Opens the stream (once); later streams are opened by the reconnect logic. */
  start(): void {
    if (this.closed) throw new XdsClientError('XDS_CLIENT_CLOSED', `xds client for ${this.options.address} is closed`);
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  /** Resolves once the first response of every watched type has been applied and answered. */
  waitForInitialSync(timeoutMs?: number): Promise<void> {
    if (this.isSynced()) return Promise.resolve();
    if (this.closed) {
      return Promise.reject(new XdsClientError('XDS_CLIENT_CLOSED', `xds client for ${this.options.address} is closed`));
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.syncWaiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
          const missing = [...this.types.values()].filter((t) => !t.synced).map((t) => t.typeUrl);
          reject(
            new XdsClientError(
              'XDS_CLIENT_SYNC_TIMEOUT',
              `xds ${this.options.address}: no first response within ${timeoutMs} ms for ${missing.join(', ')}` +
                (this.lastError === undefined ? '' : ` (last error: ${this.lastError})`),
            ),
          );
        }, timeoutMs);
      }
    });
  }

  isSynced(): boolean {
    return [...this.types.values()].every((t) => t.synced);
  }

  status(): XdsClientStatus {
    const size = this.store.size;
    return {
      address: this.options.address,
      connected: this.connected,
      lastError: this.lastError,
      streams: this.streams,
      types: [...this.types.values()].map((t) => ({
        typeUrl: t.typeUrl,
        resources: t.typeUrl === ADDRESS_TYPE_URL ? size.workloads + size.services : size.policies,
        lastNonce: t.lastNonce,
        acks: t.acks,
        nacks: t.nacks,
        lastNack: t.lastNack,
        rejected: [...t.rejected.keys()].sort(),
        synced: t.synced,
      })),
    };
  }

  /** The versions the next stream reports in initial_resource_versions (rejected names excluded). */
  heldVersions(typeUrl: string): Record<string, string> {
    return Object.fromEntries(this.types.get(typeUrl)?.versions ?? []);
  }

  /** Ends the stream and stops reconnecting; the store keeps its state. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.endStream();
    this.connected = false;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) {
      w.reject(new XdsClientError('XDS_CLIENT_CLOSED', `xds client for ${this.options.address} closed before the initial sync`));
    }
  }

  private endStream(): void {
    const call = this.call;
    const client = this.client;
    this.call = undefined;
    this.client = undefined;
    if (call !== undefined) {
      call.end();
      call.cancel();
    }
    client?.close();
  }

  private credentials(): grpc.ChannelCredentials {
    const tls = this.options.tls;
    return tls === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(tls.rootPem));
  }

  private callMetadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    const token = typeof this.options.token === 'function' ? this.options.token() : this.options.token;
    if (token !== undefined && token !== '') md.set('authorization', `Bearer ${token}`);
    if (this.options.clusterId !== undefined) md.set('clusterid', this.options.clusterId);
    return md;
  }

  private connect(): void {
    this.timer = undefined;
    if (this.closed) return;
    // A fresh channel per stream: reconnect pacing is this client's backoff, not the channel's own.
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
    };
    if (this.options.tls?.serverName !== undefined) {
      channelOptions['grpc.ssl_target_name_override'] = this.options.tls.serverName;
    }
    let call: DeltaCall;
    try {
      this.client = new DeltaClient(this.options.address, this.credentials(), channelOptions);
      const start = (this.client as unknown as Record<string, (md: grpc.Metadata) => DeltaCall>)
        .deltaAggregatedResources;
      if (start === undefined) throw new XdsClientError('XDS_CLIENT_INVALID_OPTION', 'ADS client has no delta method');
      call = start.call(this.client, this.callMetadata());
    } catch (err) {
      this.client?.close();
      this.client = undefined;
      this.onStreamEnd(undefined, 'ConnectionError', errorMessage(err));
      return;
    }
    this.call = call;
    this.receivedOnStream = false;
    this.streams++;
    call.on('data', (r: Received) => {
      if (call === this.call) this.onResponse(call, r);
    });
    // Non-OK statuses also arrive as 'error'; the 'status' event is the one place a stream ends.
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => {
      if (call !== this.call) return;
      this.onStreamEnd(call, this.reasonFor(s), `${grpc.status[s.code] ?? s.code}: ${s.details}`);
    });
    for (const t of this.types.values()) {
      // Every first request names the node (ztunnel sends it on each type's first request).
      this.send(call, {
        node: this.node,
        typeUrl: t.typeUrl,
        initialResourceVersions: Object.fromEntries(t.versions),
      });
    }
    this.log.debug({ stream: this.streams }, 'xds stream opened');
  }

  private reasonFor(s: grpc.StatusObject): TerminationReason {
    if (s.code === grpc.status.OK) return 'Complete';
    if (s.code === grpc.status.UNAVAILABLE) return this.receivedOnStream ? 'Reconnect' : 'ConnectionError';
    return 'Error';
  }

  private onStreamEnd(call: DeltaCall | undefined, reason: TerminationReason, detail: string): void {
    if (call !== undefined) this.endStream();
    this.connected = false;
    if (this.closed) return;
    this.metrics.terminations.inc({ reason });
    // A normal end or a server going away after a working stream: reconnect at once (ztunnel does the same).
    const immediate = reason === 'Complete' || reason === 'Reconnect';
    if (immediate) this.backoff.reset();
    const delayMs = immediate ? this.backoff.initialMs : this.backoff.next();
    if (reason !== 'Complete') this.lastError = detail;
    const fields = { reason, detail, delayMs };
    if (reason === 'Complete' || reason === 'Reconnect') this.log.info(fields, 'xds stream ended');
    else this.log.warn(fields, 'xds stream failed');
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  private send(call: DeltaCall, init: Parameters<typeof create<typeof DeltaDiscoveryRequestSchema>>[1]): void {
    call.write(create(DeltaDiscoveryRequestSchema, init));
  }

  private onResponse(call: DeltaCall, { response, bytes }: Received): void {
    const typeUrl = response.typeUrl;
    this.metrics.messages.inc({ url: typeUrl });
    this.metrics.messageBytes.inc({ url: typeUrl }, bytes);
    if (!this.receivedOnStream) {
      this.receivedOnStream = true;
      this.backoff.reset();
      this.connected = true;
      this.log.info({ stream: this.streams }, 'xds stream established');
    }
    const state = this.types.get(typeUrl);
    if (state === undefined) {
      this.send(call, {
        typeUrl,
        responseNonce: response.nonce,
        errorDetail: { code: INVALID_ARGUMENT, message: `type ${typeUrl} is not subscribed` },
      });
      return;
    }
    state.lastNonce = response.nonce;
    const decoded = decodeResources(typeUrl, response.resources);
    const delta: StoreDelta = {
      typeUrl,
      upserts: decoded.accepted.map((a) => a.resource),
      removals: response.removedResources,
    };
    try {
      this.store.applyDelta(delta);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'STATE_LISTENER_FAILED') {
        // The store refused the push whole: nothing of it is in force, so none of it is ACKed.
        const message = `push not applied: ${errorMessage(err)}`;
        state.nacks++;
        state.lastNack = message;
        this.send(call, { typeUrl, responseNonce: response.nonce, errorDetail: { code: INVALID_ARGUMENT, message } });
        this.log.error({ typeUrl, nonce: response.nonce, message }, 'nacked xds push');
        this.markSynced(state);
        return;
      }
      // A listener failed after the push was in place: the push stands and is ACKed.
      this.log.error({ typeUrl, err: errorMessage(err) }, 'workload store listener failed');
    }
    for (const a of decoded.accepted) {
      state.versions.set(a.name, a.version);
      state.rejected.delete(a.name);
    }
    for (const name of response.removedResources) {
      state.versions.delete(name);
      state.rejected.delete(name);
    }
    for (const r of decoded.rejected) {
      state.versions.delete(r.name);
      state.rejected.set(r.name, r.reason);
    }
    if (decoded.rejected.length === 0) {
      state.acks++;
      this.send(call, { typeUrl, responseNonce: response.nonce });
      this.log.debug(
        { typeUrl, nonce: response.nonce, resources: response.resources.length, removed: response.removedResources.length },
        'acked xds push',
      );
    } else {
      const message = nackMessage(decoded.rejected);
      state.nacks++;
      state.lastNack = message;
      this.send(call, { typeUrl, responseNonce: response.nonce, errorDetail: { code: INVALID_ARGUMENT, message } });
      this.log.error(
        { typeUrl, nonce: response.nonce, rejected: decoded.rejected.map((r) => r.name), message },
        'nacked xds push',
      );
    }
    this.markSynced(state);
  }

  /**
   * The first answered response of a type counts towards readiness even when
   * it was partly NACKed: its good resources are in force, and waiting for a
   * fully clean push could hold readiness back indefinitely.
   */
  private markSynced(state: TypeState): void {
    if (state.synced) return;
    state.synced = true;
    // The policies of the first push are in the store: the set may now decide by them.
    if (state.typeUrl === AUTHORIZATION_TYPE_URL) this.store.markPoliciesSynced();
    // The workloads and services of the first push are in: outbound connections can be routed.
    if (state.typeUrl === ADDRESS_TYPE_URL) this.store.markAddressesSynced();
    if (!this.isSynced()) return;
    this.log.info({ ...this.store.size }, 'xds initial sync complete');
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w.resolve();
  }
}
