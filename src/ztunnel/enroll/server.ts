/**
 * The agent side of enrollment. It listens on a Unix socket, greets each
 * client with Hello, validates every request, and applies requests one at a
 * time: AddPod opens the pod's in-pod listeners through the PodCapture and
 * attaches redirection, DelPod undoes it, Snapshot reconciles (pods not in
 * it are removed). Both are idempotent. Pods are announced to the proxy
 * layer with `podAdded(pod, listeners)` / `podRemoved(uid)`.
 *
 * Every connection is bounded (limits.ts): an idle timeout, a frame size,
 * a cap on connections, and pod cgroups only under the pod cgroup root;
 * each hit is counted in `ambit_enrollment_limit_hits_total{limit}` and
 * logged, and answered with an Error naming it.
 *
 * At start-up it adopts what the capture layer still holds (pins survive an
 * agent restart): for each pinned pod it finds the netns in its own records,
 * re-creates the listeners and re-attaches the inbound one. Closing the
 * server closes the listeners but leaves redirection attached, so a pod's
 * traffic fails closed until the next agent takes over.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logging.js';
import { silentLogger } from '../../shared/logging.js';
import { errorMessage } from '../../shared/errors.js';
import type { ListenAddress, PodCapture } from './capture.js';
import { EnrollError } from './errors.js';
import { DEFAULT_SOCKET_PATH, decodeRequest, parseFrame, requestId, type PodInfo, type Reply, type Request } from './protocol.js';
import { EnrollmentConnection, refuseConnection, type EnrollLimit } from './connection.js';
import { resolveEnrollmentLimits, type EnrollmentLimits } from './limits.js';
import { WorkloadManagerMetrics } from './metrics.js';
import { DEFAULT_RECORDS_FILE, readRecords, writeRecords } from './records.js';
import { allListeners, PodRegistry, type PodListeners, type RegisteredPod } from './registry.js';
import { PORT_HBONE, PORT_INBOUND_PLAINTEXT, PORT_OUTBOUND } from '../../shared/ports-and-limits.js';

/** The in-pod ports (Istio's): outbound capture, inbound plaintext, HBONE. */
export interface ListenerPorts {
  readonly outbound: number;
  readonly inboundPlaintext: number;
  readonly hbone: number;
}

export const DEFAULT_LISTENER_PORTS: ListenerPorts = Object.freeze({ outbound: PORT_OUTBOUND, inboundPlaintext: PORT_INBOUND_PLAINTEXT, hbone: PORT_HBONE });

export interface EnrollmentServerOptions {
  readonly capture: PodCapture;
  readonly socketPath?: string;
  /** The agent's pod records for adoption after a restart; null keeps none. */
  readonly recordsFile?: string | null;
  readonly ports?: Partial<ListenerPorts>;
  readonly logger?: Logger;
  /** Where the workload_manager_* metrics go; none when absent. */
  readonly metrics?: Registry;
  /** Per-connection and protocol limits; each unset one takes its default. */
  readonly limits?: Partial<EnrollmentLimits>;
}

/** The `workloadState` section of /config_dump: pod UID → state and identity. */
export type WorkloadStateDump = Record<
  string,
  { state: 'Up'; info: { name: string; namespace: string; serviceAccount: string } }
>;

export interface EnrollmentEvents {
  podAdded: [pod: RegisteredPod, listeners: PodListeners];
  podRemoved: [uid: string];
  /** A snapshot was applied: the agent now knows every pod of the node. */
  snapshot: [uids: readonly string[]];
}

function netnsIdOf(path: string): string {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    throw new EnrollError('ENROLL_CAPTURE_FAILED', `netns ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

function sameInfo(a: PodInfo, b: PodInfo): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Stops a listener accepting. It does not wait for the connections it
 * accepted: those belong to the proxy layer, which drains them on
 * `podRemoved`, and a long-lived connection must not hold up enrollment.
 */
function closeListener(s: net.Server): void {
  if (s.listening) s.close();
}

/** How long close() waits for the request in progress. */
const CLOSE_WAIT_MS = 5_000;

export class EnrollmentServer extends EventEmitter<EnrollmentEvents> {
  readonly registry = new PodRegistry();
  readonly socketPath: string;
  private readonly capture: PodCapture;
  private readonly recordsFile: string | null;
  private readonly ports: ListenerPorts;
  private readonly log: Logger;
  private server: net.Server | undefined;
  readonly limits: EnrollmentLimits;
  private readonly connections = new Set<EnrollmentConnection>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private snapshotSeen = false;
  private readonly metrics: WorkloadManagerMetrics | undefined;

  constructor(options: EnrollmentServerOptions) {
    super();
    this.capture = options.capture;
    this.socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
    this.recordsFile = options.recordsFile === undefined ? DEFAULT_RECORDS_FILE : options.recordsFile;
    this.ports = { ...DEFAULT_LISTENER_PORTS, ...options.ports };
    this.log = (options.logger ?? silentLogger).child({ component: 'enroll' });
    this.limits = resolveEnrollmentLimits(options.limits);
    this.metrics =
      options.metrics === undefined
        ? undefined
        : new WorkloadManagerMetrics(options.metrics, () => this.registry.size, () => this.connections.size);
  }

  /** The `workloadState` config_dump section, keys sorted. */
  configDump(): WorkloadStateDump {
    const out: WorkloadStateDump = {};
    for (const p of this.registry.list()) {
      out[p.info.uid] = {
        state: 'Up',
        info: { name: p.info.name, namespace: p.info.namespace, serviceAccount: p.info.serviceAccount ?? '' },
      };
    }
    return out;
  }

  /** Whether a snapshot has been applied since start (the agent's "workload proxy manager" readiness). */
  get snapshotReceived(): boolean {
    return this.snapshotSeen;
  }

  /** Adopts pinned pods, then listens. A start-up failure stops start-up. */
  async start(): Promise<void> {
    await this.serial(() => this.adopt());
    await this.listen();
  }

  /** Stops accepting, ends connections, closes the pods' listeners. Redirection stays attached. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    if (this.server !== undefined) {
      this.server.close();
      if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    for (const pod of this.registry.list()) {
      this.registry.delete(pod.info.uid);
      allListeners(pod.listeners).forEach(closeListener);
    }
  }

  /** Enrolls a pod (what AddPod does). Idempotent for the same netns; a new netns replaces the old enrollment. */
  addPod(info: PodInfo): Promise<void> {
    return this.serial(() => this.doAdd(info, false));
  }

  /** Removes a pod (what DelPod does); an unknown UID is not an error. */
  delPod(uid: string): Promise<void> {
    return this.serial(() => this.doDel(uid));
  }

  /** Makes the enrolled set equal to `pods` (what Snapshot does). */
  applySnapshot(pods: readonly PodInfo[]): Promise<void> {
    return this.serial(() => this.doSnapshot(pods));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new EnrollError('ENROLL_SERVER_CLOSED', 'the enrollment server is shutting down');
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async listen(): Promise<void> {
    mkdirSync(dirname(this.socketPath), { recursive: true });
    if (existsSync(this.socketPath)) {
      if (await this.socketAnswers()) {
        throw new EnrollError('ENROLL_SOCKET_IN_USE', `${this.socketPath}: another agent is listening (is one already running?)`);
      }
      unlinkSync(this.socketPath);
    }
    const server = net.createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err, socketPath: this.socketPath }, 'enrollment socket failed'));
    this.server = server;
    this.log.info({ socketPath: this.socketPath, pods: this.registry.size }, 'enrollment server listening');
  }

  private socketAnswers(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.socketPath);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  private onConnection(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxConnections) {
      this.limitHit('max_connections');
      this.log.warn({ maxConnections: this.limits.maxConnections }, 'enrollment connection refused, too many connections');
      refuseConnection(
        socket,
        'ENROLL_TOO_MANY_CONNECTIONS',
        `${this.socketPath}: ${this.limits.maxConnections} connections are open (the limit); retry later`,
      );
      return;
    }
    const conn = new EnrollmentConnection(
      socket,
      this.limits,
      { handle: (frame) => this.handleFrame(frame), onLimit: (limit) => this.limitHit(limit) },
      this.log,
    );
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }

  private limitHit(limit: EnrollLimit): void {
    this.metrics?.limitHits.inc({ limit });
  }

  private async handleFrame(frame: Buffer): Promise<Reply> {
    let id: number | null = null;
    try {
      const raw = parseFrame(frame);
      id = requestId(raw);
      const request = decodeRequest(raw, this.limits);
      await this.handle(request);
      return { type: 'Ack', id: request.id };
    } catch (err) {
      const code = err instanceof EnrollError ? err.code : 'ENROLL_CAPTURE_FAILED';
      this.log.warn({ id, code, err: errorMessage(err) }, 'enrollment request failed');
      return { type: 'Error', id, code, message: errorMessage(err) };
    }
  }

  private handle(request: Request): Promise<void> {
    switch (request.type) {
      case 'AddPod': {
        const { type: _t, id: _i, ...info } = request;
        return this.addPod(info);
      }
      case 'DelPod':
        return this.delPod(request.uid);
      case 'Snapshot':
        return this.applySnapshot(request.pods);
      case 'CheckPod':
        return this.serial(async () => {
          if (this.registry.findByUid(request.uid) === undefined) {
            throw new EnrollError('ENROLL_NOT_ENROLLED', `pod ${request.uid} is not enrolled on this node`);
          }
        });
    }
  }

  private async openListeners(netnsPath: string): Promise<PodListeners> {
    const opened: net.Server[] = [];
    const open = async (address: ListenAddress, port: number): Promise<net.Server> => {
      const s = await this.capture.listen(netnsPath, address, port);
      opened.push(s);
      return s;
    };
    const openWildcard = async (port: number): Promise<net.Server> => {
      try {
        return await open('::', port);
      } catch (err) {
        // A pod without IPv6 has no dual-stack wildcard; IPv4 is enough then.
        this.log.debug({ netnsPath, port, err: errorMessage(err) }, 'no ipv6 wildcard in pod');
        return open('0.0.0.0', port);
      }
    };
    try {
      const outbound = [await open('127.0.0.1', this.ports.outbound)];
      try {
        outbound.push(await open('::1', this.ports.outbound));
      } catch (err) {
        this.log.debug({ netnsPath, err: errorMessage(err) }, 'no ipv6 loopback in pod');
      }
      const inboundPlaintext = await openWildcard(this.ports.inboundPlaintext);
      const hbone = await openWildcard(this.ports.hbone);
      return { outbound, inboundPlaintext, hbone };
    } catch (err) {
      opened.forEach(closeListener);
      throw new EnrollError('ENROLL_CAPTURE_FAILED', `netns ${netnsPath}: cannot open in-pod listeners: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  private async doAdd(info: PodInfo, adopted: boolean): Promise<void> {
    const netnsId = netnsIdOf(info.netnsPath);
    const existing = this.registry.findByUid(info.uid);
    if (existing !== undefined && existing.netnsId === netnsId) {
      if (!sameInfo(existing.info, info)) {
        this.registry.set({ ...existing, info });
        this.saveRecords();
      }
      this.log.debug({ uid: info.uid }, 'pod already enrolled');
      return;
    }
    if (existing !== undefined) {
      // Same UID, new namespace (the sandbox was recreated): replace, as ztunnel does.
      this.log.info({ uid: info.uid, netnsPath: info.netnsPath }, 'pod netns changed');
      await this.doDel(info.uid);
    }
    this.metrics?.pending.inc();
    try {
      await this.startPod(info, netnsId, adopted);
    } finally {
      this.metrics?.pending.dec();
    }
  }

  private async startPod(info: PodInfo, netnsId: string, adopted: boolean): Promise<void> {
    const listeners = await this.openListeners(info.netnsPath);
    try {
      await this.capture.attach(
        { uid: info.uid, netnsPath: info.netnsPath, cgroupPath: info.cgroupPath, ips: info.ips },
        listeners.inboundPlaintext,
      );
    } catch (err) {
      allListeners(listeners).forEach(closeListener);
      throw new EnrollError('ENROLL_CAPTURE_FAILED', `pod ${info.uid}: cannot attach redirection: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const pod: RegisteredPod = { info, netnsId, listeners, adopted };
    this.registry.set(pod);
    this.saveRecords();
    this.metrics?.started.inc();
    this.log.info({ uid: info.uid, name: info.name, namespace: info.namespace, ips: info.ips, adopted }, 'pod enrolled');
    this.emit('podAdded', pod, listeners);
  }

  private async doDel(uid: string): Promise<void> {
    const pod = this.registry.findByUid(uid);
    // Detach even when unknown to the registry: the pins may hold it from an earlier run.
    await this.capture.detach(uid);
    if (pod === undefined) return;
    this.registry.delete(uid);
    this.saveRecords();
    this.metrics?.stopped.inc();
    this.emit('podRemoved', uid);
    allListeners(pod.listeners).forEach(closeListener);
    this.log.info({ uid, name: pod.info.name, namespace: pod.info.namespace }, 'pod removed');
  }

  private async doSnapshot(pods: readonly PodInfo[]): Promise<void> {
    const failures: string[] = [];
    for (const p of pods) {
      try {
        await this.doAdd(p, false);
      } catch (err) {
        failures.push(`${p.uid}: ${errorMessage(err)}`);
      }
    }
    const wanted = new Set(pods.map((p) => p.uid));
    const stale = new Set([...this.registry.list().map((p) => p.info.uid), ...this.capture.attachedUids()]);
    for (const uid of stale) {
      if (wanted.has(uid)) continue;
      try {
        await this.doDel(uid);
      } catch (err) {
        failures.push(`${uid}: ${errorMessage(err)}`);
      }
    }
    this.snapshotSeen = true;
    this.emit('snapshot', [...wanted].sort());
    if (failures.length > 0) {
      throw new EnrollError('ENROLL_SNAPSHOT_PARTIAL', `snapshot applied except: ${failures.join('; ')}`);
    }
  }

  /** Takes over the pods the capture layer still holds from a previous run. */
  private async adopt(): Promise<void> {
    const pinned = this.capture.attachedUids();
    if (pinned.length === 0) return;
    const records = new Map((this.recordsFile === null ? [] : readRecords(this.recordsFile)).map((r) => [r.info.uid, r]));
    for (const uid of pinned) {
      const rec = records.get(uid);
      let current: string | undefined;
      try {
        current = rec === undefined ? undefined : netnsIdOf(rec.info.netnsPath);
      } catch {
        current = undefined;
      }
      if (rec === undefined || current !== rec.netnsId) {
        // Without the netns there is nowhere to listen: release the pod
        // rather than keep it captured with nothing answering.
        this.log.warn({ uid, known: rec !== undefined }, 'pinned pod has no usable netns, releasing it');
        await this.capture.detach(uid);
        continue;
      }
      try {
        await this.doAdd(rec.info, true);
      } catch (err) {
        // Left pinned: the pod fails closed until a snapshot or AddPod retries it.
        this.log.error({ uid, err: errorMessage(err) }, 'cannot adopt pinned pod');
      }
    }
    this.saveRecords();
  }

  private saveRecords(): void {
    if (this.recordsFile === null) return;
    writeRecords(
      this.recordsFile,
      this.registry.list().map((p) => ({ info: p.info, netnsId: p.netnsId })),
    );
  }
}
