/**
 * Istio's TCP traffic metrics for the node agent, and the per-connection
 * result object the proxy drives (names, labels and counting rules as
 * ztunnel's `src/proxy/metrics.rs`):
 *
 * - opened is counted when the connection's context is built;
 * - bytes are counted as they flow, into children resolved at setup;
 * - closed is counted exactly once per connection, failures included, with
 *   the final `response_flags`; failed too when that flag is not `-`;
 * - one access-log line per connection, at close.
 */
import { Gauge, type Registry } from 'prom-client';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { formatSpiffeId } from '../../shared/spiffe.js';
import { CounterFamily, type CounterCell } from './counter-family.js';
import type {
  ConnectionDirection,
  ConnectionProtocol,
  LiveConnection,
  LiveConnections,
  LiveConnectionSource,
} from './connections.js';
import {
  ResponseFlag,
  TRAFFIC_LABEL_NAMES,
  trafficLabels,
  type ConnectionContext,
  type Reporter,
  type TrafficLabelName,
  type TrafficLabels,
  type WorkloadDescriptor,
} from './traffic-labels.js';

export const TCP_OPENED_METRIC = 'istio_tcp_connections_opened_total';
export const TCP_CLOSED_METRIC = 'istio_tcp_connections_closed_total';
export const TCP_FAILED_METRIC = 'istio_tcp_connections_failed_total';
export const TCP_SENT_BYTES_METRIC = 'istio_tcp_sent_bytes_total';
export const TCP_RECEIVED_BYTES_METRIC = 'istio_tcp_received_bytes_total';
export const TCP_SOCKETS_OPEN_METRIC = 'istio_tcp_sockets_open';

/** The addresses of a connection as the proxy saw them (`ip:port`, IPv6 in brackets). */
export interface ConnectionEndpoints {
  /** The client's address. */
  readonly src: string;
  /** The address the client connected to (the original destination). */
  readonly dst: string;
  /** Where the bytes really go when that differs from `dst`: the HBONE `:authority` or chosen endpoint. */
  readonly remoteTarget?: string;
  readonly protocol: ConnectionProtocol;
}

export interface TrafficMetricsOptions {
  readonly registry: Registry;
  /** The access log goes to a child of this logger, `component: "access"`. */
  readonly logger: Logger;
  /** Where live connections are listed; omit to keep no list. */
  readonly connections?: LiveConnections;
  /** Monotonic milliseconds, for durations (tests inject a clock). */
  readonly monotonicMs?: () => number;
  /** Wall-clock milliseconds, for start times. */
  readonly wallClockMs?: () => number;
}

type TrafficFamily = CounterFamily<TrafficLabelName>;

export class TrafficMetrics {
  readonly opened: TrafficFamily;
  readonly closed: TrafficFamily;
  readonly failed: TrafficFamily;
  readonly sentBytes: TrafficFamily;
  readonly receivedBytes: TrafficFamily;
  /** Sockets currently open, by reporter. */
  private readonly socketsOpen: Record<Reporter, number> = { source: 0, destination: 0 };
  private readonly shared: TrafficShared;

  constructor(options: TrafficMetricsOptions) {
    const r = options.registry;
    this.opened = new CounterFamily(
      r,
      TCP_OPENED_METRIC,
      'The total number of TCP connections opened',
      TRAFFIC_LABEL_NAMES,
    );
    this.closed = new CounterFamily(
      r,
      TCP_CLOSED_METRIC,
      'The total number of TCP connections closed',
      TRAFFIC_LABEL_NAMES,
    );
    this.failed = new CounterFamily(
      r,
      TCP_FAILED_METRIC,
      'The total number of TCP connections that failed to establish (unstable)',
      TRAFFIC_LABEL_NAMES,
    );
    this.sentBytes = new CounterFamily(
      r,
      TCP_SENT_BYTES_METRIC,
      'The size of total bytes sent during response in case of a TCP connection',
      TRAFFIC_LABEL_NAMES,
    );
    this.receivedBytes = new CounterFamily(
      r,
      TCP_RECEIVED_BYTES_METRIC,
      'The size of total bytes received during request in case of a TCP connection',
      TRAFFIC_LABEL_NAMES,
    );
    const sockets = this.socketsOpen;
    new Gauge({
      name: TCP_SOCKETS_OPEN_METRIC,
      help: 'The current number of open sockets',
      labelNames: ['reporter'] as const,
      registers: [r],
      collect() {
        this.set({ reporter: 'source' }, sockets.source);
        this.set({ reporter: 'destination' }, sockets.destination);
      },
    });
    this.shared = {
      accessLog: options.logger.child({ component: 'access' }),
      connections: options.connections,
      monotonicMs: options.monotonicMs ?? (() => performance.now()),
      wallClockMs: options.wallClockMs ?? Date.now,
      socketsOpen: this.socketsOpen,
    };
  }

  /**
   * Starts accounting for one connection: counts it opened and returns the
   * object that counts its bytes and, on `close`, its end.
   */
  open(ctx: ConnectionContext, endpoints: ConnectionEndpoints): ConnectionResult {
    return new ConnectionResult(this, this.shared, ctx, endpoints);
  }
}

/** What every connection result of one `TrafficMetrics` shares. */
interface TrafficShared {
  readonly accessLog: Logger;
  readonly connections: LiveConnections | undefined;
  readonly monotonicMs: () => number;
  readonly wallClockMs: () => number;
  readonly socketsOpen: Record<Reporter, number>;
}

function workloadKey(w: WorkloadDescriptor | undefined): string {
  return w === undefined ? 'unknown' : `${w.namespace}/${w.name}`;
}

function displayName(w: WorkloadDescriptor | undefined, canonical: string): string | undefined {
  if (w !== undefined && w.name !== '') return w.name;
  return canonical === 'unknown' ? undefined : canonical;
}

/**
 * One connection's metrics and access log. Created by
 * `TrafficMetrics.open`; the proxy calls `recordReceived`/`recordSent` as
 * chunks flow and `close` when the connection ends, however it ends. Only
 * the first `close` counts. Create it through `TrafficMetrics.open`.
 */
export class ConnectionResult implements LiveConnectionSource {
  private readonly labels: TrafficLabels;
  private readonly sentCell: CounterCell;
  private readonly receivedCell: CounterCell;
  private readonly startMs: number;
  private readonly startWallMs: number;
  private readonly direction: ConnectionDirection;
  private readonly peer: string | undefined;
  /** Request-direction bytes (client to server). */
  private requestBytes = 0;
  /** Response-direction bytes (server to client). */
  private responseBytes = 0;
  private done = false;

  constructor(
    private readonly metrics: TrafficMetrics,
    private readonly internals: TrafficShared,
    private readonly ctx: ConnectionContext,
    private readonly endpoints: ConnectionEndpoints,
  ) {
    this.labels = trafficLabels(ctx);
    metrics.opened.child(this.labels).value += 1;
    this.sentCell = metrics.sentBytes.child(this.labels);
    this.receivedCell = metrics.receivedBytes.child(this.labels);
    this.startMs = this.internals.monotonicMs();
    this.startWallMs = this.internals.wallClockMs();
    this.direction = ctx.reporter === 'source' ? 'outbound' : 'inbound';
    this.peer =
      ctx.peerIdentity !== undefined && ctx.connectionSecurityPolicy === 'mutual_tls'
        ? formatSpiffeId(ctx.peerIdentity)
        : undefined;
    this.internals.socketsOpen[ctx.reporter] += 1;
    this.internals.connections?.add(this);
  }

  /**
   * Counts `n` bytes flowing from the client towards the server (the
   * request direction: `istio_tcp_received_bytes_total`, as Istio defines it
   * for both reporters).
   */
  recordReceived(n: number): void {
    this.requestBytes += n;
    this.receivedCell.value += n;
  }

  /**
   * Counts `n` bytes flowing from the server back to the client (the
   * response direction: `istio_tcp_sent_bytes_total`).
   */
  recordSent(n: number): void {
    this.responseBytes += n;
    this.sentCell.value += n;
  }

  /** True once `close` has run. */
  get closed(): boolean {
    return this.done;
  }

  /** The traffic labels resolved at setup (`response_flags` = `-`). */
  get trafficLabels(): TrafficLabels {
    return this.labels;
  }

  /**
   * Ends the connection's accounting: counts it closed (and failed for a
   * flag other than `-`), removes it from the live list and writes the
   * access-log line. Later calls do nothing, so every exit path may call it.
   */
  close(flag: ResponseFlag = ResponseFlag.None, error?: unknown): void {
    if (this.done) return;
    this.done = true;
    const final = flag === ResponseFlag.None ? this.labels : { ...this.labels, response_flags: flag };
    this.metrics.closed.child(final).value += 1;
    if (flag !== ResponseFlag.None) this.metrics.failed.child(final).value += 1;
    this.internals.socketsOpen[this.ctx.reporter] -= 1;
    this.internals.connections?.remove(this);
    const log = this.internals.accessLog;
    if (!log.isLevelEnabled('info')) return;
    const [bytesSent, bytesReceived] = this.localBytes();
    log.info(
      {
        src: this.endpoints.src,
        dst: this.endpoints.dst,
        dstTarget: this.endpoints.remoteTarget,
        dstService: this.ctx.destinationService?.hostname,
        srcWorkload: displayName(this.ctx.source, this.labels.source_canonical_service),
        dstWorkload: displayName(this.ctx.destination, this.labels.destination_canonical_service),
        peer: this.peer,
        bytesSent,
        bytesReceived,
        durationMs: Math.round(this.internals.monotonicMs() - this.startMs),
        flag,
        direction: this.direction,
        error: error === undefined ? undefined : errorMessage(error),
      },
      'connection complete',
    );
  }

  /**
   * Bytes from the local pod's point of view: outbound the local pod is the
   * client (it sent the request bytes), inbound it is the server.
   */
  private localBytes(): [sent: number, received: number] {
    return this.direction === 'outbound'
      ? [this.requestBytes, this.responseBytes]
      : [this.responseBytes, this.requestBytes];
  }

  snapshot(): LiveConnection {
    const outbound = this.direction === 'outbound';
    const [bytesSent, bytesReceived] = this.localBytes();
    const local = outbound ? this.endpoints.src : this.endpoints.dst;
    const remote = outbound ? this.endpoints.dst : this.endpoints.src;
    return {
      workload: workloadKey(outbound ? this.ctx.source : this.ctx.destination),
      direction: this.direction,
      local,
      remote,
      remoteTarget: this.endpoints.remoteTarget ?? this.endpoints.dst,
      protocol: this.endpoints.protocol,
      ...(this.peer === undefined ? {} : { peerIdentity: this.peer }),
      bytesSent,
      bytesReceived,
      startTime: new Date(this.startWallMs).toISOString(),
    };
  }
}
