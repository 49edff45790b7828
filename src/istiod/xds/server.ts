/**
 * The ADS server: `envoy.service.discovery.v3.AggregatedDiscoveryService`
 * (delta and SotW) over the resources of an XdsResourceSource.
 *
 * Source changes are debounced (a quiet period of `debounceMs`, capped at
 * `maxDebounceMs` as istiod's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX),
 * merged into one set of names per type, and handed to every connection's
 * own queue; each connection sends only what it subscribes to.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { adsServiceDefinition } from '../../shared/grpc/services.js';
import { errorMessage } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logging.js';
import type {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { describeCaller, type XdsAuthenticator, type XdsCaller, type XdsStreamCredentials } from './auth.js';
import type { ConnectionContext, ConnectionHandle } from './connection.js';
import { DeltaConnection } from './delta-connection.js';
import { XdsError } from './errors.js';
import { XdsMetrics, versionLabel, type AuthFailureReason } from './metrics.js';
import type { ResourceChange, XdsResourceSource } from './resource-source.js';
import { listenXds, type XdsListenOptions, type XdsListeners } from './grpc-listen.js';
import { PushThrottle } from './push-throttle.js';
import { SotwConnection } from './sotw-connection.js';
import type { SyncStatus } from './sync-status.js';

export const DEFAULT_DEBOUNCE_MS = 100;
export const DEFAULT_MAX_DEBOUNCE_MS = 10_000;
export const DEFAULT_MAX_QUEUED_PUSHES = 10_000;
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;
export const DEFAULT_CLOSE_GRACE_MS = 5_000;
export const DEFAULT_PUSH_THROTTLE = 10;

export interface XdsServerOptions {
  readonly source: XdsResourceSource;
  readonly logger?: Logger;
  /** Where the pilot_* metrics go; a private registry when absent. */
  readonly registry?: Registry;
  /** Quiet period before a push; 0 pushes on the next turn of the event loop. */
  readonly debounceMs?: number;
  /** Longest a change waits under continuous churn. */
  readonly maxDebounceMs?: number;
  /** Changed names queued per connection and type before the queue collapses into a full compare. */
  readonly maxQueuedPushes?: number;
  /** A connection that takes no data for this long is reset; 0 never. */
  readonly sendTimeoutMs?: number;
  /** Full syncs in flight at once across all connections (istiod's PILOT_PUSH_THROTTLE). */
  readonly pushThrottle?: number;
  /**
   * Authenticates every stream on a TLS listener (see auth.ts). Without one,
   * TLS streams are refused: a TLS listener needs it (listenXds checks).
   */
  readonly authenticator?: XdsAuthenticator;
}

/**
 * How streams on a gRPC server are admitted: `plaintext` (the loopback
 * port, not authenticated, as istiod's 15010) or `tls` (authenticated).
 */
export type XdsTransport = 'plaintext' | 'tls';

const METHOD_DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
const METHOD_SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/**
 * The ADS definition with responses that are already encoded: resources are
 * encoded once and shared by every connection (see encode.ts). Requests
 * decode as in `adsServiceDefinition`.
 */
function preEncodedAdsDefinition(): {
  definition: grpc.ServiceDefinition;
  deltaKey: string;
  sotwKey: string;
} {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  let deltaKey = '';
  let sotwKey = '';
  for (const [key, method] of Object.entries(adsServiceDefinition)) {
    definition[key] = {
      ...method,
      responseSerialize: (bytes: unknown) => {
        const b = bytes as Uint8Array;
        return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      },
    };
    if (method.path === METHOD_DELTA) deltaKey = key;
    if (method.path === METHOD_SOTW) sotwKey = key;
  }
  return { definition: definition as grpc.ServiceDefinition, deltaKey, sotwKey };
}

export class XdsServer {
  readonly registry: Registry;
  readonly metrics: XdsMetrics;
  private readonly source: XdsResourceSource;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly maxDebounceMs: number;
  private readonly connections = new Map<string, ConnectionHandle>();
  private readonly context: ConnectionContext;
  private readonly unsubscribe: () => void;
  private readonly noncePrefix = randomBytes(4).toString('hex');
  private nonceCounter = 0;
  private connectionCounter = 0;
  private version = 0;
  /** Changed names per type since the last push, with the sequence number of each name's last change. */
  private batch = new Map<string, Map<string, number>>();
  private batchStartedMs: number | undefined;
  /** Counts source change notifications; a batch is tagged with the last one it holds. */
  private changeSeq = 0;
  private debounceTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closing = false;
  private readonly listeners: XdsListeners[] = [];
  private readonly authenticator: XdsAuthenticator | undefined;

  constructor(options: XdsServerOptions) {
    this.source = options.source;
    this.authenticator = options.authenticator;
    this.log = (options.logger ?? silentLogger).child({ component: 'xds' });
    this.registry = options.registry ?? new Registry();
    this.metrics = new XdsMetrics(this.registry);
    this.debounceMs = nonNegative('debounceMs', options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.maxDebounceMs = Math.max(
      this.debounceMs,
      nonNegative('maxDebounceMs', options.maxDebounceMs ?? DEFAULT_MAX_DEBOUNCE_MS),
    );
    const maxQueuedPushes = nonNegative(
      'maxQueuedPushes',
      options.maxQueuedPushes ?? DEFAULT_MAX_QUEUED_PUSHES,
    );
    const sendTimeoutMs = nonNegative('sendTimeoutMs', options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS);
    this.context = {
      source: this.source,
      metrics: this.metrics,
      logger: this.log,
      maxQueuedPushes,
      sendTimeoutMs,
      throttle: new PushThrottle(
        Math.max(1, nonNegative('pushThrottle', options.pushThrottle ?? DEFAULT_PUSH_THROTTLE)),
      ),
      nextNonce: () => `${this.noncePrefix}-${(++this.nonceCounter).toString(36)}`,
      pushVersion: () => String(this.version),
      changeSeq: () => this.changeSeq,
      onNode: (conn) => this.metrics.clients.labels(versionLabel(conn.node?.istioVersion ?? '')).inc(),
      onClosed: (conn) => {
        if (this.connections.delete(conn.id) && conn.node !== undefined) {
          this.metrics.clients.labels(versionLabel(conn.node.istioVersion)).dec();
        }
      },
    };
    this.unsubscribe = this.source.onChange((changes) => this.onSourceChange(changes));
  }

  /** Whether TLS streams can be authenticated (listenXds refuses a TLS listener otherwise). */
  get authenticates(): boolean {
    return this.authenticator !== undefined;
  }

  /**
   * Registers AggregatedDiscoveryService (delta and SotW) on a gRPC server.
   * On `tls` every stream is authenticated before its first request is read.
   */
  addToServer(server: grpc.Server, transport: XdsTransport): void {
    const { definition, deltaKey, sotwKey } = preEncodedAdsDefinition();
    server.addService(definition, {
      [deltaKey]: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, Uint8Array>) =>
        this.accept(call, transport, (caller) => new DeltaConnection(this.context, call, this.nextConnectionId(), caller)),
      [sotwKey]: (call: grpc.ServerDuplexStream<DiscoveryRequest, Uint8Array>) =>
        this.accept(call, transport, (caller) => new SotwConnection(this.context, call, this.nextConnectionId(), caller)),
    });
  }

  /**
   * Opens the connection once the caller is known. Until then no 'data'
   * listener is attached, so the stream's requests wait in its buffer.
   */
  private accept(
    call: grpc.ServerDuplexStream<unknown, Uint8Array>,
    transport: XdsTransport,
    open: (caller: XdsCaller) => ConnectionHandle,
  ): void {
    if (this.refuseWhileClosing(call)) return;
    if (transport === 'plaintext') {
      this.register(open({ kind: 'local' }));
      return;
    }
    const authenticator = this.authenticator;
    if (authenticator === undefined) {
      this.refuseCaller(call, new XdsError('XDS_UNAUTHENTICATED', 'authentication failure: this xds server has no authenticator for TLS streams'));
      return;
    }
    let credentials: XdsStreamCredentials;
    try {
      credentials = { metadata: call.metadata, peerCertificate: call.getAuthContext()?.sslPeerCertificate };
    } catch (err) {
      this.refuseCaller(call, err);
      return;
    }
    authenticator.authenticate(credentials).then(
      (caller) => {
        if (this.refuseWhileClosing(call)) return;
        // The client went away while it was being authenticated: nothing to serve.
        if (call.cancelled || call.destroyed) return;
        if (this.log.isLevelEnabled('debug')) {
          this.log.debug({ peer: call.getPeer(), caller: describeCaller(caller) }, 'xds client authenticated');
        }
        this.register(open(caller));
      },
      (err: unknown) => this.refuseCaller(call, err),
    );
  }

  private register(conn: ConnectionHandle): void {
    this.connections.set(conn.id, conn);
  }

  /** Ends a stream whose caller was not admitted, with the status its error calls for; counted and logged. */
  private refuseCaller(call: grpc.ServerDuplexStream<unknown, Uint8Array>, err: unknown): void {
    let code: grpc.status;
    let reason: AuthFailureReason;
    let details: string;
    if (err instanceof XdsError && err.code === 'XDS_PERMISSION_DENIED') {
      [code, reason, details] = [grpc.status.PERMISSION_DENIED, 'permission_denied', err.message];
    } else if (err instanceof XdsError && err.code === 'XDS_AUTH_UNAVAILABLE') {
      [code, reason, details] = [grpc.status.UNAVAILABLE, 'unavailable', err.message];
    } else if (err instanceof XdsError) {
      [code, reason, details] = [grpc.status.UNAUTHENTICATED, 'unauthenticated', err.message];
    } else {
      this.log.error({ err: errorMessage(err) }, 'xds authentication failed');
      [code, reason, details] = [grpc.status.UNAUTHENTICATED, 'unauthenticated', 'authentication failure: internal error'];
    }
    this.metrics.authFailures.labels(reason).inc();
    let peer = '';
    try {
      peer = call.getPeer();
    } catch {
      // A call torn down already has no peer to name; the log line goes out without it.
    }
    this.log.warn({ peer, reason: details }, 'xds client refused');
    if (call.cancelled || call.destroyed) return;
    call.emit('error', { code, details, name: 'XdsError', message: details });
  }

  /**
   * Binds plaintext and/or TLS listeners serving this server (see listenXds);
   * `close()` shuts down the ones created here.
   */
  async listen(options: XdsListenOptions): Promise<XdsListeners> {
    const listeners = await listenXds(this, options);
    this.listeners.push(listeners);
    return listeners;
  }

  /** Open ADS streams. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Increases with every debounced push; sent as system_version_info. */
  get pushVersion(): number {
    return this.version;
  }

  /** Per-connection state for `/debug/syncz`, sorted by node id then connection. */
  syncStatus(): SyncStatus[] {
    const all = [...this.connections.values()].map((c) => c.syncStatus());
    all.sort((a, b) =>
      a.nodeId === b.nodeId ? cmp(a.connectionId, b.connectionId) : cmp(a.nodeId, b.nodeId),
    );
    return all;
  }

  /** Total encoded response bytes handed to the streams that are still connected. */
  bytesSent(): number {
    let total = 0;
    for (const c of this.connections.values()) total += c.bytesSent;
    return total;
  }

  /** Pushes the pending changes now instead of at the end of the debounce window. */
  flush(): void {
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.debounceTimer = undefined;
    this.immediate = undefined;
    if (this.batch.size === 0) return;
    const batch = this.batch;
    const changedAtMs = this.batchStartedMs ?? Date.now();
    this.batch = new Map();
    this.batchStartedMs = undefined;
    this.version++;
    for (const conn of this.connections.values()) {
      for (const [typeUrl, changes] of batch) conn.enqueue(typeUrl, changes, changedAtMs);
    }
  }

  /**
   * Stops taking streams and changes, ends every stream (their buffered
   * responses first), resets the ones still open after `graceMs`, and shuts
   * down the listeners `listen()` created.
   */
  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unsubscribe();
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.debounceTimer = undefined;
    this.immediate = undefined;
    await Promise.all([...this.connections.values()].map((c) => c.close(graceMs)));
    await Promise.all(this.listeners.splice(0).map((l) => l.close(graceMs)));
  }

  private onSourceChange(changes: readonly ResourceChange[]): void {
    if (this.closing) return;
    this.changeSeq++;
    const now = Date.now();
    for (const change of changes) {
      let names = this.batch.get(change.typeUrl);
      if (names === undefined) {
        names = new Map();
        this.batch.set(change.typeUrl, names);
      }
      for (const n of change.updated) names.set(n, this.changeSeq);
      for (const n of change.removed) names.set(n, this.changeSeq);
    }
    if (this.batch.size === 0) return;
    this.batchStartedMs ??= now;
    if (this.debounceMs === 0) {
      this.immediate ??= setImmediate(() => this.flush());
      return;
    }
    const waitedMs = now - this.batchStartedMs;
    const delayMs = Math.min(this.debounceMs, Math.max(0, this.maxDebounceMs - waitedMs));
    if (this.debounceTimer === undefined) {
      this.debounceTimer = setTimeout(() => this.flush(), delayMs);
    } else if (waitedMs + this.debounceMs <= this.maxDebounceMs) {
      this.debounceTimer.refresh();
    }
  }

  private nextConnectionId(): string {
    return `${this.noncePrefix}-c${++this.connectionCounter}`;
  }

  private refuseWhileClosing(call: grpc.ServerDuplexStream<unknown, Uint8Array>): boolean {
    if (!this.closing) return false;
    call.emit('error', {
      code: grpc.status.UNAVAILABLE,
      details: 'xds server is shutting down',
      name: 'XdsError',
      message: 'shutting down',
    });
    return true;
  }
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new XdsError(
      'XDS_INVALID_OPTION',
      `xds server option ${name}: ${value} is not a non-negative number`,
    );
  }
  return value;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
