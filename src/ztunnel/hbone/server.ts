/**
 * The HBONE server: the in-pod 15008 listener. TLS 1.3 with the pod's own
 * certificate, a client certificate required and verified against the mesh
 * root, the peer's SPIFFE identity extracted once per session, then HTTP/2
 * CONNECT streams handed to the caller's `handle` to authorize and connect.
 * Refusals are answered on the stream; the session stays up for others.
 */
import http2, {
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/logging.js';
import { silentLogger } from '../../shared/logging.js';
import type { SpiffeId } from '../../shared/spiffe.js';
import { parseAuthority, type SocketAddr } from './authority.js';
import { HboneError } from './errors.js';
import { peerSpiffeId } from './peer-identity.js';
import {
  HBONE_ALPN,
  HBONE_MAX_FRAME_BYTES,
  HBONE_PING_INTERVAL_MS,
  HBONE_PING_TIMEOUT_MS,
  HBONE_SERVER_MAX_STREAMS,
  HBONE_STREAM_WINDOW_BYTES,
  HBONE_CONNECTION_WINDOW_BYTES,
  HBONE_TLS_VERSION,
  type TlsMaterial,
} from './tls-material.js';

/** One CONNECT as the handler sees it. */
export interface HboneRequest {
  readonly peer: SpiffeId;
  /** The verified peer identity as a URI (spiffe://...). */
  readonly peerUri: string;
  readonly peerAddress: SocketAddr;
  readonly target: SocketAddr;
  readonly headers: IncomingHttpHeaders;
}

/** Byte counts of a finished tunnel, from the server's side. */
export interface TunnelResult {
  /** Bytes received from the peer and written upstream. */
  readonly bytesFromPeer: number;
  /** Bytes read from upstream and sent to the peer. */
  readonly bytesToPeer: number;
  readonly error: Error | undefined;
}

export type HboneAnswer =
  | { readonly kind: 'reject'; readonly status: 400 | 401 | 403 | 503; readonly reason: string }
  | {
      readonly kind: 'accept';
      /** A connected upstream (the app); piped both ways with half-close. */
      readonly upstream: Duplex;
      /** Called exactly once when both directions are done. */
      readonly onClose?: (result: TunnelResult) => void;
      /** Called as bytes flow (direction 'in' = from peer), for live metrics. */
      readonly onBytes?: (direction: 'in' | 'out', bytes: number) => void;
      readonly responseHeaders?: Readonly<Record<string, string>>;
    };

export interface HboneServerOptions {
  readonly material: TlsMaterial;
  readonly trustDomain: string;
  readonly handle: (request: HboneRequest) => Promise<HboneAnswer>;
  /** A CONNECT that is neither accepted nor rejected in time is answered 503. */
  readonly handleTimeoutMs?: number;
  readonly logger?: Logger;
}

export const DEFAULT_HANDLE_TIMEOUT_MS = 10_000;

interface SessionInfo {
  readonly peer: SpiffeId;
  readonly peerUri: string;
  readonly peerAddress: SocketAddr;
}

export class HboneServer {
  readonly server: Http2SecureServer;
  private readonly log: Logger;
  private readonly sessions = new Map<ServerHttp2Session, SessionInfo | HboneError>();
  private readonly handleTimeoutMs: number;

  constructor(private readonly options: HboneServerOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'hbone-server' });
    this.handleTimeoutMs = options.handleTimeoutMs ?? DEFAULT_HANDLE_TIMEOUT_MS;
    this.server = http2.createSecureServer({
      key: options.material.keyPem,
      cert: options.material.certChainPem,
      ca: options.material.rootPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: HBONE_TLS_VERSION,
      ALPNProtocols: HBONE_ALPN,
      allowHTTP1: false,
      settings: {
        enablePush: false,
        maxConcurrentStreams: HBONE_SERVER_MAX_STREAMS,
        initialWindowSize: HBONE_STREAM_WINDOW_BYTES,
        maxFrameSize: HBONE_MAX_FRAME_BYTES,
        maxHeaderListSize: 64 * 1024,
      },
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('tlsClientError', (err, socket) =>
      this.log.debug({ err: err.message, peer: socket.remoteAddress }, 'hbone tls handshake failed'),
    );
  }

  /**
   * Replaces the certificate (after a renewal): new handshakes get it, live
   * sessions keep theirs. The new context repeats the TLS 1.3 floor, which a
   * replaced context would otherwise lose.
   */
  updateMaterial(material: TlsMaterial): void {
    this.server.setSecureContext({
      key: material.keyPem,
      cert: material.certChainPem,
      ca: material.rootPem,
      minVersion: HBONE_TLS_VERSION,
    });
  }

  /** Listens on an fd made inside the pod's netns, or on a host/port (tests). */
  listen(target: { fd: number } | { host: string; port: number }): Promise<SocketAddr> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(target, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a !== null ? { ip: a.address, port: a.port } : { ip: '', port: 0 });
      });
    });
  }

  /** Stops accepting, lets live tunnels run up to `graceMs`, then closes them. */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions.keys()) s.close();
    const timer = setTimeout(() => {
      for (const s of this.sessions.keys()) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  private onSession(session: ServerHttp2Session): void {
    const socket = session.socket as TLSSocket;
    let info: SessionInfo | HboneError;
    try {
      const { uri, id } = peerSpiffeId(socket, this.options.trustDomain);
      info = { peer: id, peerUri: uri, peerAddress: { ip: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 } };
    } catch (err) {
      info = err instanceof HboneError ? err : new HboneError('HBONE_IDENTITY_ERROR', String(err));
      this.log.warn({ peer: socket.remoteAddress, reason: info.message }, 'hbone peer identity refused');
    }
    this.sessions.set(session, info);
    session.setLocalWindowSize(HBONE_CONNECTION_WINDOW_BYTES);
    const ping = setInterval(() => {
      const deadline = setTimeout(() => session.destroy(), HBONE_PING_TIMEOUT_MS);
      deadline.unref();
      if (!session.ping((err) => (err ? session.destroy() : clearTimeout(deadline)))) clearTimeout(deadline);
    }, HBONE_PING_INTERVAL_MS);
    ping.unref();
    session.on('close', () => {
      clearInterval(ping);
      this.sessions.delete(session);
    });
    session.on('error', (err) => this.log.debug({ err: err.message }, 'hbone session error'));
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // surfaced through the tunnel result
    const info = this.sessions.get(stream.session as ServerHttp2Session);
    if (info === undefined || info instanceof HboneError) {
      this.refuse(stream, 401, info?.message ?? 'no verified peer identity');
      return;
    }
    if (headers[':method'] !== 'CONNECT') {
      this.refuse(stream, 400, `method ${String(headers[':method'])} is not CONNECT`);
      return;
    }
    let target: SocketAddr;
    try {
      target = parseAuthority(headers[':authority']);
    } catch (err) {
      this.refuse(stream, 400, (err as Error).message);
      return;
    }
    const request: HboneRequest = { ...info, target, headers };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<HboneAnswer>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'reject', status: 503, reason: 'upstream not ready in time' }), this.handleTimeoutMs);
    });
    Promise.race([this.options.handle(request), timeout])
      .then((answer) => {
        clearTimeout(timer);
        if (answer.kind === 'reject') {
          this.refuse(stream, answer.status, answer.reason);
          return;
        }
        if (stream.destroyed || stream.closed) {
          answer.upstream.destroy();
          answer.onClose?.({ bytesFromPeer: 0, bytesToPeer: 0, error: new Error('client went away before 200') });
          return;
        }
        stream.respond({ ':status': 200, ...(answer.responseHeaders ?? {}) });
        splice(stream, answer.upstream, answer.onBytes, answer.onClose);
      })
      .catch((err: unknown) => {
        clearTimeout(timer);
        this.log.error({ err }, 'hbone handler failed');
        this.refuse(stream, 503, 'internal error');
      });
  }

  private refuse(stream: ServerHttp2Stream, status: number, reason: string): void {
    this.log.debug({ status, reason }, 'hbone connect refused');
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ':status': status }, { endStream: true });
  }
}

/**
 * Pipes a tunnel stream and an upstream both ways with half-close and
 * backpressure (`pipe` pauses a side whose peer is full), counting bytes,
 * and reports once when both sides have closed. A side that fails, or closes
 * before both of its directions ended, resets the other: TCP sockets with an
 * RST, HTTP/2 streams with RST_STREAM, so an app never mistakes a broken
 * tunnel for a clean end.
 */
export function splice(
  tunnel: Duplex,
  upstream: Duplex,
  onBytes: ((direction: 'in' | 'out', bytes: number) => void) | undefined,
  onClose: ((result: TunnelResult) => void) | undefined,
): void {
  let bytesFromPeer = 0;
  let bytesToPeer = 0;
  let closed = 0;
  let failure: Error | undefined;
  const fail = (err: Error): void => {
    if (failure !== undefined) return;
    failure = err;
    abort(tunnel, err);
    abort(upstream, err);
  };
  const onSideClosed = (side: Duplex) => (): void => {
    if (!side.readableEnded || !side.writableFinished) fail(new Error('tunnel side closed before its end'));
    if (++closed === 2) onClose?.({ bytesFromPeer, bytesToPeer, error: failure });
  };
  tunnel.on('data', (chunk: Buffer) => {
    bytesFromPeer += chunk.length;
    onBytes?.('in', chunk.length);
  });
  upstream.on('data', (chunk: Buffer) => {
    bytesToPeer += chunk.length;
    onBytes?.('out', chunk.length);
  });
  tunnel.on('error', fail);
  upstream.on('error', fail);
  tunnel.once('close', onSideClosed(tunnel));
  upstream.once('close', onSideClosed(upstream));
  tunnel.pipe(upstream);
  upstream.pipe(tunnel);
}

function abort(stream: Duplex, err: Error): void {
  if (stream.destroyed) return;
  if (stream instanceof Socket) stream.resetAndDestroy();
  else stream.destroy(err);
}
