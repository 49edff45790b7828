/**
 * The HBONE client pool: connections (dialed by `dialer.ts`) pooled by
 * (source identity, expected destination identities, destination address),
 * many CONNECT streams per connection up to a limit. A connection leaves the
 * pool as soon as anything shows it is dead or going: GOAWAY, a PING that is
 * not answered (keepalive), a session error, a CONNECT that got no answer, or
 * idleness. A dead connection is destroyed, which resets its streams, so the
 * apps' tunnels get an RST instead of hanging. Each CONNECT resolves to a
 * duplex stream once the peer answered 200; any other status is an
 * HboneError carrying it.
 */
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logging.js';
import { silentLogger } from '../../shared/logging.js';
import { formatAuthority, type SocketAddr } from './authority.js';
import { dialHbone } from './dialer.js';
import { HboneError } from './errors.js';
import { SessionKeepalive, type KeepaliveOptions } from './keepalive.js';
import type { TlsMaterial } from './tls-material.js';

/** ztunnel `POOL_MAX_STREAMS_PER_CONNECTION`. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 100;
/** ztunnel `POOL_UNUSED_RELEASE_TIMEOUT`. */
export const DEFAULT_IDLE_RELEASE_MS = 5 * 60_000;
/** ztunnel's connect timeout, for the dial and for the CONNECT's answer. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface HboneSource {
  /** The source workload's SPIFFE URI (part of the pool key). */
  readonly identity: string;
  /** The source workload's certificate, presented to the peer. */
  readonly material: TlsMaterial;
  /** Opens the TCP connection (inside the source pod's netns in the agent). */
  readonly connect: (target: SocketAddr) => Promise<Socket>;
  /** Distinguishes pools of different pods with one identity (ztunnel keys by source IP too). */
  readonly key?: string;
}

export interface HboneConnectRequest {
  readonly source: HboneSource;
  /** Where the tunnel goes: the destination's `ip:15008`. */
  readonly destination: SocketAddr;
  /** SPIFFE URIs the peer certificate may carry (the workload's, plus a service's SANs). */
  readonly expectedIdentities: readonly string[];
  /** The CONNECT target `ip:port`. */
  readonly target: SocketAddr;
  readonly headers?: Readonly<Record<string, string>>;
  /** Gives up the CONNECT (the app went away); the stream is reset if it was sent. */
  readonly signal?: AbortSignal;
}

/** Why a pooled connection left the pool (a small fixed set, for logs and metrics). */
export type EvictionReason = 'goaway' | 'ping_timeout' | 'ping_failed' | 'session_error' | 'connect_timeout' | 'idle' | 'pool_closed';

export interface HbonePoolOptions {
  readonly maxStreamsPerConnection?: number;
  readonly idleReleaseMs?: number;
  readonly connectTimeoutMs?: number;
  readonly keepalive?: KeepaliveOptions;
  /** Called once per connection that leaves the pool. */
  readonly onEvict?: (reason: EvictionReason) => void;
  readonly logger?: Logger;
}

interface PooledSession {
  readonly session: ClientHttp2Session;
  readonly key: string;
  readonly destination: string;
  readonly keepalive: SessionKeepalive;
  active: number;
  /** Out of the pool: takes no new streams. */
  evicted: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface PoolEntry {
  readonly sessions: PooledSession[];
  /** One connection being set up at a time per key; concurrent callers share it. */
  opening: Promise<PooledSession> | undefined;
}

/** Eviction reasons that mean the peer is gone: the connection is destroyed and its tunnels reset. */
const DEAD: ReadonlySet<EvictionReason> = new Set(['ping_timeout', 'ping_failed', 'session_error']);

export class HbonePool {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly maxStreams: number;
  private readonly idleReleaseMs: number;
  private readonly connectTimeoutMs: number;
  private readonly keepaliveOptions: KeepaliveOptions;
  private readonly onEvict: (reason: EvictionReason) => void;
  private readonly log: Logger;
  private closed = false;

  constructor(options: HbonePoolOptions = {}) {
    this.maxStreams = options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION;
    this.idleReleaseMs = options.idleReleaseMs ?? DEFAULT_IDLE_RELEASE_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.keepaliveOptions = options.keepalive ?? {};
    this.onEvict = options.onEvict ?? (() => undefined);
    this.log = (options.logger ?? silentLogger).child({ component: 'hbone-pool' });
  }

  /** Opens a CONNECT stream; resolves once the peer answered 200. */
  async connect(req: HboneConnectRequest): Promise<ClientHttp2Stream> {
    if (this.closed) throw new HboneError('HBONE_POOL_CLOSED', 'the HBONE pool is closed');
    const what = `CONNECT ${formatAuthority(req.target)} via ${formatAuthority(req.destination)}`;
    // session() reserves the stream slot (active++) before it returns.
    const pooled = await this.session(req);
    if (req.signal?.aborted) {
      this.release(pooled);
      throw new HboneError('HBONE_STREAM_FAILED', `${what}: given up by the caller`);
    }
    clearTimeout(pooled.idleTimer);
    pooled.idleTimer = undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = pooled.session.request(
        { ':method': 'CONNECT', ':authority': formatAuthority(req.target), ...(req.headers ?? {}) },
        { endStream: false },
      );
    } catch (err) {
      // request() throws only on a session that is closing or gone.
      this.release(pooled);
      this.evict(pooled, 'session_error', (err as Error).message);
      throw new HboneError('HBONE_SESSION_DEAD', `${what}: ${(err as Error).message}`, { cause: err });
    }
    // Registered before anything else: the slot is released however the stream ends.
    stream.once('close', () => this.release(pooled));
    return new Promise<ClientHttp2Stream>((resolve, reject) => {
      // Settles exactly once: on the peer's answer, an error, a close without
      // an answer (a reset or a closing session), the caller's abort, or no answer in time.
      let settled = false;
      const timer = setTimeout(() => {
        // No answer in time: whatever the reason, new CONNECTs go to a new connection.
        this.evict(pooled, 'connect_timeout');
        fail(new HboneError('HBONE_CONNECT_TIMEOUT', `${what}: no answer in ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const onAbort = (): void => fail(new HboneError('HBONE_STREAM_FAILED', `${what}: given up by the caller`));
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        stream.off('error', onError);
        stream.off('close', onClose);
        stream.off('response', onResponse);
        return true;
      };
      const fail = (err: Error): void => {
        if (!finish()) return;
        // A reset (RST_STREAM CANCEL), not a graceful end: the CONNECT is abandoned.
        stream.destroy();
        reject(err);
      };
      const onError = (err: Error): void => fail(new HboneError('HBONE_STREAM_FAILED', `${what}: ${err.message}`, { cause: err }));
      const onClose = (): void =>
        fail(
          pooled.session.destroyed
            ? new HboneError('HBONE_SESSION_DEAD', `${what}: the connection closed before the peer answered`)
            : new HboneError('HBONE_STREAM_FAILED', `${what}: stream closed before the peer answered (code ${stream.rstCode ?? 'none'})`),
        );
      const onResponse = (headers: Record<string, unknown>): void => {
        const status = Number(headers[':status']);
        if (status !== 200) {
          // A refusal is an answer, not a failure: end our side (END_STREAM,
          // not RST_STREAM) and let the peer's end close the stream, so that
          // refusals never count against the peer's reset rate limit (nghttp2
          // answers GOAWAY past 1000 resets, then 33/s, killing every tunnel
          // on the connection). A peer that never ends it gets a reset.
          if (!finish()) return;
          stream.resume();
          stream.end();
          const lingering = setTimeout(() => stream.destroy(), this.connectTimeoutMs);
          stream.once('close', () => clearTimeout(lingering));
          reject(new HboneError('HBONE_HTTP_STATUS', `${what}: peer answered ${status}`, { status }));
          return;
        }
        if (finish()) resolve(stream);
      };
      stream.once('response', onResponse);
      stream.once('error', onError);
      stream.once('close', onClose);
      req.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Connections per pool key, for admin output. */
  stats(): { key: string; connections: number; streams: number }[] {
    return [...this.entries].map(([key, e]) => ({
      key,
      connections: e.sessions.length,
      streams: e.sessions.reduce((n, s) => n + s.active, 0),
    }));
  }

  /** Closes every pooled connection (GOAWAY, then streams finish). */
  close(): void {
    this.closed = true;
    for (const e of [...this.entries.values()]) for (const s of [...e.sessions]) this.evict(s, 'pool_closed');
    this.entries.clear();
  }

  private poolKey(req: HboneConnectRequest): string {
    return [req.source.key ?? '', req.source.identity, [...req.expectedIdentities].sort().join(','), formatAuthority(req.destination)].join('|');
  }

  private async session(req: HboneConnectRequest): Promise<PooledSession> {
    const key = this.poolKey(req);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { sessions: [], opening: undefined };
      this.entries.set(key, entry);
    }
    // Bounded: each pass either finds room, or waits for one connection set-up.
    for (let pass = 0; ; pass++) {
      const usable = entry.sessions.find((s) => this.usable(s));
      if (usable) {
        usable.active++;
        return usable;
      }
      const mine = entry.opening === undefined;
      if (mine) {
        const e = entry;
        e.opening = this.open(req, key)
          .then((fresh) => {
            if (!this.closed) e.sessions.push(fresh);
            return fresh;
          })
          .finally(() => {
            e.opening = undefined;
          });
      }
      try {
        const fresh = await entry.opening!;
        if (mine) {
          fresh.active++;
          return fresh;
        }
      } catch (err) {
        // The caller that opened the connection reports its failure; others try once themselves.
        if (mine || pass >= 2) {
          this.dropEntryIfEmpty(key);
          throw err;
        }
      }
      if (this.closed) throw new HboneError('HBONE_POOL_CLOSED', 'the HBONE pool is closed');
      if (!this.entries.has(key)) this.entries.set(key, entry);
    }
  }

  private usable(s: PooledSession): boolean {
    if (s.evicted || s.session.destroyed || s.session.closed) return false;
    const peerMax = s.session.remoteSettings.maxConcurrentStreams ?? Infinity;
    return s.active < Math.min(this.maxStreams, peerMax);
  }

  private async open(req: HboneConnectRequest, key: string): Promise<PooledSession> {
    const destination = formatAuthority(req.destination);
    const session = await dialHbone({
      source: req.source,
      destination: req.destination,
      expectedIdentities: req.expectedIdentities,
      timeoutMs: this.connectTimeoutMs,
    });
    const pooled: PooledSession = {
      session,
      key,
      destination,
      keepalive: new SessionKeepalive(session, (failure, err) => this.onKeepaliveFailure(pooled, failure, err), this.keepaliveOptions),
      active: 0,
      evicted: false,
      idleTimer: undefined,
    };
    session.on('goaway', (errorCode: number) => this.evict(pooled, errorCode === 0 ? 'goaway' : 'session_error', `GOAWAY with error code ${errorCode}`));
    session.on('error', (err: Error) => {
      this.evict(pooled, 'session_error', err.message);
    });
    session.once('close', () => {
      pooled.keepalive.stop();
      clearTimeout(pooled.idleTimer);
      pooled.idleTimer = undefined;
      if (!pooled.evicted) {
        // The peer closed it (or the socket died): out of the pool, nothing left to reset.
        pooled.evicted = true;
        this.onEvict('session_error');
      }
      this.remove(pooled);
    });
    // An idle connection: torn down after the release timeout if no stream comes.
    this.armIdle(pooled);
    this.log.debug({ dst: destination, src: req.source.identity }, 'hbone connection opened');
    return pooled;
  }

  private onKeepaliveFailure(pooled: PooledSession, failure: 'ping_timeout' | 'ping_failed', err: Error | undefined): void {
    this.log.warn({ dst: pooled.destination, reason: failure, err: err?.message, streams: pooled.active }, 'hbone peer not answering pings');
    this.evict(pooled, failure);
  }

  private release(pooled: PooledSession): void {
    pooled.active = Math.max(0, pooled.active - 1);
    if (pooled.active === 0) {
      if (pooled.evicted && !pooled.session.destroyed) pooled.session.close();
      else this.armIdle(pooled);
    }
  }

  private armIdle(pooled: PooledSession): void {
    if (this.idleReleaseMs <= 0 || pooled.evicted || pooled.session.destroyed) return;
    clearTimeout(pooled.idleTimer);
    pooled.idleTimer = setTimeout(() => {
      pooled.idleTimer = undefined;
      if (pooled.active === 0) this.evict(pooled, 'idle');
    }, this.idleReleaseMs);
    pooled.idleTimer.unref();
  }

  /**
   * Takes a connection out of the pool (idempotent). A dead peer's
   * connection is destroyed, resetting its streams; otherwise it closes
   * gracefully once its streams are done.
   */
  private evict(pooled: PooledSession, reason: EvictionReason, detail?: string): void {
    const dead = DEAD.has(reason);
    if (!pooled.evicted) {
      pooled.evicted = true;
      this.remove(pooled);
      this.onEvict(reason);
      this.log.debug({ dst: pooled.destination, reason, detail, streams: pooled.active }, 'hbone connection evicted');
    } else if (!dead) {
      return;
    }
    clearTimeout(pooled.idleTimer);
    pooled.idleTimer = undefined;
    if (dead) {
      pooled.keepalive.stop();
      if (!pooled.session.destroyed) pooled.session.destroy(new HboneError('HBONE_SESSION_DEAD', `hbone connection to ${pooled.destination}: ${reason}`));
    } else if (!pooled.session.closed && !pooled.session.destroyed) {
      pooled.session.close();
    }
  }

  private remove(pooled: PooledSession): void {
    const entry = this.entries.get(pooled.key);
    if (!entry) return;
    const i = entry.sessions.indexOf(pooled);
    if (i >= 0) entry.sessions.splice(i, 1);
    this.dropEntryIfEmpty(pooled.key);
  }

  private dropEntryIfEmpty(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.sessions.length === 0 && entry.opening === undefined) this.entries.delete(key);
  }
}
