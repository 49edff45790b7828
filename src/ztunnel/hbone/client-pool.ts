/**
 * The HBONE client: mTLS HTTP/2 connections pooled by (source identity,
 * expected destination identities, destination address), many CONNECT
 * streams per connection up to a limit, PING keepalive, eviction on GOAWAY,
 * error or idleness. Each CONNECT resolves to a duplex stream once the peer
 * answered 200; any other status is an HboneError carrying it.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../../shared/logging.js';
import { silentLogger } from '../../shared/logging.js';
import { formatAuthority, type SocketAddr } from './authority.js';
import { HboneError } from './errors.js';
import { uriSans } from './peer-identity.js';
import {
  HBONE_ALPN,
  HBONE_CONNECTION_WINDOW_BYTES,
  HBONE_MAX_FRAME_BYTES,
  HBONE_PING_INTERVAL_MS,
  HBONE_PING_TIMEOUT_MS,
  HBONE_STREAM_WINDOW_BYTES,
  HBONE_TLS_VERSION,
  type TlsMaterial,
} from './tls-material.js';

export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 100;
export const DEFAULT_IDLE_RELEASE_MS = 5 * 60_000;
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
}

export interface HbonePoolOptions {
  readonly maxStreamsPerConnection?: number;
  readonly idleReleaseMs?: number;
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
}

interface PooledSession {
  readonly session: ClientHttp2Session;
  active: number;
  draining: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface PoolEntry {
  readonly sessions: PooledSession[];
  /** One connection being set up at a time per key; concurrent callers share it. */
  opening: Promise<PooledSession> | undefined;
}

export class HbonePool {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly maxStreams: number;
  private readonly idleReleaseMs: number;
  private readonly connectTimeoutMs: number;
  private readonly log: Logger;
  private closed = false;

  constructor(options: HbonePoolOptions = {}) {
    this.maxStreams = options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION;
    this.idleReleaseMs = options.idleReleaseMs ?? DEFAULT_IDLE_RELEASE_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.log = (options.logger ?? silentLogger).child({ component: 'hbone-pool' });
  }

  /** Opens a CONNECT stream; resolves once the peer answered 200. */
  async connect(req: HboneConnectRequest): Promise<ClientHttp2Stream> {
    if (this.closed) throw new HboneError('HBONE_POOL_CLOSED', 'the HBONE pool is closed');
    // session() reserves the stream slot (active++) before it returns.
    const pooled = await this.session(req);
    if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
    pooled.idleTimer = undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = pooled.session.request(
        { ':method': 'CONNECT', ':authority': formatAuthority(req.target), ...(req.headers ?? {}) },
        { endStream: false },
      );
    } catch (err) {
      this.release(pooled, req);
      throw new HboneError('HBONE_STREAM_FAILED', `CONNECT ${formatAuthority(req.target)} via ${formatAuthority(req.destination)}: ${(err as Error).message}`, { cause: err });
    }
    stream.once('close', () => this.release(pooled, req));
    const what = `CONNECT ${formatAuthority(req.target)} via ${formatAuthority(req.destination)}`;
    return new Promise<ClientHttp2Stream>((resolve, reject) => {
      // Settles exactly once: on the peer's answer, an error, a close without
      // an answer (a reset or a closing session), or no answer in time.
      let settled = false;
      const timer = setTimeout(
        () => fail(new HboneError('HBONE_CONNECT_TIMEOUT', `${what}: no answer in ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        stream.off('error', onError);
        stream.off('close', onClose);
        return true;
      };
      const fail = (err: Error): void => {
        if (!finish()) return;
        stream.destroy();
        reject(err);
      };
      const onError = (err: Error): void => fail(new HboneError('HBONE_STREAM_FAILED', `${what}: ${err.message}`, { cause: err }));
      const onClose = (): void => fail(new HboneError('HBONE_STREAM_FAILED', `${what}: stream closed before the peer answered (code ${stream.rstCode ?? 'none'})`));
      stream.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status !== 200) {
          fail(new HboneError('HBONE_HTTP_STATUS', `${what}: peer answered ${status}`, { status }));
          return;
        }
        if (finish()) resolve(stream);
      });
      stream.once('error', onError);
      stream.once('close', onClose);
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
    for (const e of this.entries.values()) for (const s of e.sessions) this.evict(s, 'pool closed');
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
      const usable = entry.sessions.find((s) => !s.draining && !s.session.destroyed && s.active < this.limit(s.session));
      if (usable) {
        usable.active++;
        return usable;
      }
      const mine = entry.opening === undefined;
      if (mine) {
        const e = entry;
        e.opening = this.open(req, key)
          .then((fresh) => {
            e.sessions.push(fresh);
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
        if (mine || pass >= 2) throw err;
      }
      if (this.closed) throw new HboneError('HBONE_POOL_CLOSED', 'the HBONE pool is closed');
    }
  }

  private limit(session: ClientHttp2Session): number {
    const peerMax = session.remoteSettings.maxConcurrentStreams ?? Infinity;
    return Math.min(this.maxStreams, peerMax);
  }

  private async open(req: HboneConnectRequest, key: string): Promise<PooledSession> {
    const dst = formatAuthority(req.destination);
    const timeout = <T>(p: Promise<T>, what: string): Promise<T> => {
      let t: NodeJS.Timeout | undefined;
      return Promise.race([
        p,
        new Promise<never>((_, reject) => {
          t = setTimeout(() => reject(new HboneError('HBONE_CONNECT_TIMEOUT', `${what} to ${dst}: no answer in ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
        }),
      ]).finally(() => clearTimeout(t));
    };
    const socket = await timeout(req.source.connect(req.destination), 'tcp connect');
    const tlsSocket = await timeout(this.handshake(socket, req, dst), 'tls handshake').catch((err: unknown) => {
      socket.destroy();
      throw err;
    });
    const session = http2.connect(`https://${dst}`, {
      createConnection: () => tlsSocket,
      settings: {
        enablePush: false,
        initialWindowSize: HBONE_STREAM_WINDOW_BYTES,
        maxFrameSize: HBONE_MAX_FRAME_BYTES,
        maxHeaderListSize: 16 * 1024,
      },
    });
    await timeout(
      new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        // With TLS 1.3 the server judges our certificate after our handshake
        // completed: its refusal arrives here, as an alert or a close.
        const fail = (err: Error | undefined): void =>
          reject(
            new HboneError(
              // A close before any SETTINGS is the server refusing our certificate:
              // a server that accepted TLS sends its SETTINGS at once.
              err === undefined || /alert|certificate/i.test(err.message) ? 'HBONE_TLS_FAILURE' : 'HBONE_H2_HANDSHAKE_FAILURE',
              `http2 to ${dst}: ${err?.message ?? 'connection closed before the peer settings (was our certificate refused?)'}`,
              { cause: err },
            ),
          );
        session.once('error', fail);
        tlsSocket.once('error', fail);
        session.once('close', () => fail(undefined));
      }),
      'http2 handshake',
    ).catch((err: unknown) => {
      session.destroy();
      throw err;
    });
    session.setLocalWindowSize(HBONE_CONNECTION_WINDOW_BYTES);
    const pooled: PooledSession = { session, active: 0, draining: false, idleTimer: undefined };
    const ping = setInterval(() => {
      const deadline = setTimeout(() => this.evict(pooled, 'ping timeout', true), HBONE_PING_TIMEOUT_MS);
      deadline.unref();
      if (!session.ping((err) => (err ? this.evict(pooled, 'ping failed', true) : clearTimeout(deadline)))) clearTimeout(deadline);
    }, HBONE_PING_INTERVAL_MS);
    ping.unref();
    session.on('goaway', () => this.evict(pooled, 'goaway'));
    session.on('error', (err) => this.log.debug({ dst, err: err.message }, 'hbone connection error'));
    session.on('close', () => {
      clearInterval(ping);
      if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
      this.remove(key, pooled);
    });
    this.log.debug({ dst, src: req.source.identity }, 'hbone connection opened');
    return pooled;
  }

  private handshake(socket: Socket, req: HboneConnectRequest, dst: string): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const expected = new Set(req.expectedIdentities);
      const s = tls.connect({
        socket,
        key: req.source.material.keyPem,
        cert: req.source.material.certChainPem,
        ca: req.source.material.rootPem,
        minVersion: HBONE_TLS_VERSION,
        ALPNProtocols: HBONE_ALPN,
        // ztunnel sends no SNI; an IP host makes Node send none.
        host: req.destination.ip,
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          const uris = uriSans(new X509Certificate(cert.raw));
          if (uris.some((u) => expected.has(u))) return undefined;
          return new HboneError(
            'HBONE_IDENTITY_ERROR',
            `${dst} presented ${uris.join(', ') || 'no URI SAN'}; expected ${[...expected].join(' or ')}`,
          );
        },
      });
      s.once('secureConnect', () => {
        s.off('error', onError);
        if (s.alpnProtocol !== 'h2') {
          s.destroy();
          reject(new HboneError('HBONE_TLS_FAILURE', `${dst} did not negotiate ALPN h2`));
          return;
        }
        resolve(s);
      });
      const onError = (err: Error): void =>
        reject(err instanceof HboneError ? err : new HboneError('HBONE_TLS_FAILURE', `tls to ${dst}: ${err.message}`, { cause: err }));
      s.once('error', onError);
    });
  }

  private release(pooled: PooledSession, req: HboneConnectRequest): void {
    pooled.active = Math.max(0, pooled.active - 1);
    if (pooled.active === 0 && !pooled.session.destroyed && this.idleReleaseMs > 0) {
      pooled.idleTimer = setTimeout(() => this.evict(pooled, 'idle'), this.idleReleaseMs);
      pooled.idleTimer.unref();
    }
    void req;
  }

  private evict(pooled: PooledSession, reason: string, force = false): void {
    if (pooled.draining && !force) return;
    pooled.draining = true;
    this.log.debug({ reason }, 'hbone connection evicted');
    if (force) pooled.session.destroy();
    else pooled.session.close();
  }

  private remove(key: string, pooled: PooledSession): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    const i = entry.sessions.indexOf(pooled);
    if (i >= 0) entry.sessions.splice(i, 1);
    if (entry.sessions.length === 0 && entry.opening === undefined) this.entries.delete(key);
  }
}
