/**
 * The HBONE server: the in-pod 15008 listener. TLS 1.3 with the pod's own
 * certificate, a client certificate required and verified against the mesh
 * root, the peer's SPIFFE identity extracted once per session, then HTTP/2
 * CONNECT streams handed to the caller's `handle` to authorize and connect.
 * Refusals are answered on the stream; the session stays up for others.
 *
 * Limits (each counted and logged when hit, never a crash): the TLS
 * handshake timeout, concurrent connections, concurrent streams per
 * connection, the header list size, and the handler's deadline, which the
 * handler owns through an AbortSignal. PING keepalive drops a silent peer.
 */
import http2, {
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../shared/logging.js';
import { silentLogger } from '../../shared/logging.js';
import type { SpiffeId } from '../../shared/spiffe.js';
import { errorMessage } from '../../shared/errors.js';
import { NO_GUARDS, type ProxyGuards } from '../telemetry/index.js';
import { parseAuthority, type SocketAddr } from './authority.js';
import { HboneError } from './errors.js';
import { endsSessionOnFin } from './dialer.js';
import { SessionKeepalive, type KeepaliveOptions } from './keepalive.js';
import { peerSpiffeId } from './peer-identity.js';
import {
  HBONE_ALPN,
  HBONE_CONNECTION_WINDOW_BYTES,
  HBONE_MAX_FRAME_BYTES,
  HBONE_SERVER_MAX_HEADER_LIST_BYTES,
  HBONE_SERVER_MAX_STREAMS,
  HBONE_STREAM_WINDOW_BYTES,
  HBONE_TLS_VERSION,
  type TlsMaterial,
} from './tls-material.js';

/** A CONNECT whose handler neither accepted nor rejected in time is answered 503 (ztunnel: 10 s). */
export const DEFAULT_HANDLE_TIMEOUT_MS = 10_000;
/** Node's default is 120 s; Envoy's listener transport-socket timeout style: 10 s. */
export const DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Concurrent connections (in handshake or established) per pod listener. */
export const DEFAULT_HBONE_MAX_CONNECTIONS = 1024;
/** Concurrent CONNECT streams per connection (ztunnel's SETTINGS_MAX_CONCURRENT_STREAMS). */
export const DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION = HBONE_SERVER_MAX_STREAMS;

/** HTTP/2 RST_STREAM REFUSED_STREAM (RFC 9113 §7): safe for the client to retry. */
const REFUSED_STREAM = 0x7;

/** One CONNECT as the handler sees it. */
export interface HboneRequest {
  readonly peer: SpiffeId;
  /** The verified peer identity as a URI (spiffe://...). */
  readonly peerUri: string;
  readonly peerAddress: SocketAddr;
  readonly target: SocketAddr;
  readonly headers: IncomingHttpHeaders;
}

/**
 * The handler's answer. On `accept` the server calls exactly one of `open`
 * (after answering 200, with the tunnel stream) or `abandon` (the client
 * went away, or the answer came after the deadline): the handler releases
 * its upstream there, so nothing leaks.
 */
export type HboneAnswer =
  | { readonly kind: 'reject'; readonly status: 400 | 401 | 403 | 503; readonly reason: string }
  | {
      readonly kind: 'accept';
      readonly open: (tunnel: Duplex) => void;
      readonly abandon: (reason: Error) => void;
      readonly responseHeaders?: Readonly<Record<string, string>>;
    };

/**
 * Handles one CONNECT. `signal` aborts at the deadline, when the client
 * resets the stream, or when the server closes: stop waiting and release
 * whatever was opened for this request.
 */
export type HboneHandler = (request: HboneRequest, signal: AbortSignal) => Promise<HboneAnswer>;

export interface HboneServerLimits {
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxStreamsPerConnection: number;
  readonly maxHeaderListBytes: number;
  readonly handleTimeoutMs: number;
}

export const DEFAULT_HBONE_SERVER_LIMITS: HboneServerLimits = Object.freeze({
  handshakeTimeoutMs: DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS,
  maxConnections: DEFAULT_HBONE_MAX_CONNECTIONS,
  maxStreamsPerConnection: DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
  maxHeaderListBytes: HBONE_SERVER_MAX_HEADER_LIST_BYTES,
  handleTimeoutMs: DEFAULT_HANDLE_TIMEOUT_MS,
});

export interface HboneServerOptions {
  readonly material: TlsMaterial;
  readonly trustDomain: string;
  readonly handle: HboneHandler;
  /** @deprecated use `limits.handleTimeoutMs`. */
  readonly handleTimeoutMs?: number;
  readonly limits?: Partial<HboneServerLimits>;
  readonly keepalive?: KeepaliveOptions;
  /** Where early denies and limit hits are counted. */
  readonly guards?: ProxyGuards;
  readonly logger?: Logger;
}

interface SessionInfo {
  readonly peer: SpiffeId;
  readonly peerUri: string;
  readonly peerAddress: SocketAddr;
}

interface SessionState {
  readonly identity: SessionInfo | HboneError;
  readonly keepalive: SessionKeepalive;
  streams: number;
}

export class HboneServer {
  /** The TLS/HTTP/2 server; sockets reach it only through `accept`. */
  readonly server: Http2SecureServer;
  private readonly log: Logger;
  private readonly guards: ProxyGuards;
  private readonly limits: HboneServerLimits;
  private readonly sessions = new Map<ServerHttp2Session, SessionState>();
  /** Every accepted TCP connection until it closes (handshaking or established). */
  private readonly sockets = new Set<net.Socket>();
  /** Aborted when the server closes: handlers still running give up (renewed by `listen`). */
  private closing = closingController();
  private listener: net.Server | undefined;

  constructor(private readonly options: HboneServerOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'hbone-server' });
    this.guards = options.guards ?? NO_GUARDS;
    this.limits = {
      ...DEFAULT_HBONE_SERVER_LIMITS,
      ...(options.handleTimeoutMs !== undefined ? { handleTimeoutMs: options.handleTimeoutMs } : {}),
      ...options.limits,
    };
    this.server = http2.createSecureServer({
      key: options.material.keyPem,
      cert: options.material.certChainPem,
      ca: options.material.rootPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: HBONE_TLS_VERSION,
      ALPNProtocols: HBONE_ALPN,
      allowHTTP1: false,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      settings: {
        enablePush: false,
        maxConcurrentStreams: this.limits.maxStreamsPerConnection,
        initialWindowSize: HBONE_STREAM_WINDOW_BYTES,
        maxFrameSize: HBONE_MAX_FRAME_BYTES,
        maxHeaderListSize: this.limits.maxHeaderListBytes,
      },
    });
    this.server.on('session', (session) => this.guard('session', () => this.onSession(session)));
    this.server.on('stream', (stream, headers) => this.guard('stream', () => this.onStream(stream, headers), stream));
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => this.onTlsError(err, socket));
    // Errors of the TLS server itself (not of one connection) must not become uncaught.
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'hbone server error'));
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

  /**
   * Takes one accepted TCP connection (from the in-pod listener). Over the
   * connection limit it is reset at once; otherwise the TLS handshake starts
   * under the handshake timeout.
   */
  accept(socket: net.Socket): void {
    this.guard('connection', () => {
      if (this.closing.signal.aborted) {
        socket.resetAndDestroy();
        return;
      }
      if (this.sockets.size >= this.limits.maxConnections) {
        this.guards.limitHit('hbone_connections');
        this.guards.earlyDeny('limit');
        this.log.warn({ peer: socket.remoteAddress, limit: this.limits.maxConnections }, 'hbone connection limit reached');
        socket.resetAndDestroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.server.emit('connection', socket);
    }, socket);
  }

  /** Listens on an fd made inside the pod's netns, or on a host/port (tests). */
  listen(target: { fd: number } | { host: string; port: number }): Promise<SocketAddr> {
    if (this.closing.signal.aborted) this.closing = closingController();
    const listener = net.createServer({ pauseOnConnect: false }, (s) => this.accept(s));
    this.listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(target, () => {
        listener.off('error', reject);
        listener.on('error', (err) => this.log.error({ err: err.message }, 'hbone listener error'));
        const a = listener.address();
        resolve(typeof a === 'object' && a !== null ? { ip: a.address, port: a.port } : { ip: '', port: 0 });
      });
    });
  }

  /** Stops accepting, lets live tunnels run up to `graceMs`, then destroys what is left. */
  async close(graceMs = 0): Promise<void> {
    this.closing.abort(new HboneError('HBONE_STREAM_FAILED', 'the HBONE server is closing'));
    const listener = this.listener;
    this.listener = undefined;
    const listenerClosed = listener === undefined ? Promise.resolve() : new Promise<void>((r) => listener.close(() => r()));
    for (const s of this.sessions.keys()) if (!s.closed && !s.destroyed) s.close();
    const drained = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.sockets.size === 0) resolve();
      };
      for (const s of this.sockets) s.once('close', check);
      check();
    });
    const timer = setTimeout(() => {
      for (const s of this.sessions.keys()) s.destroy();
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    await Promise.all([listenerClosed, drained]);
    clearTimeout(timer);
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** TCP connections held (in handshake or established). */
  get activeConnections(): number {
    return this.sockets.size;
  }

  /** Runs an event handler so that nothing it throws reaches the event loop. */
  private guard(event: string, run: () => void, resource?: { destroy(): void }): void {
    try {
      run();
    } catch (err) {
      this.guards.earlyDeny('internal_error');
      this.log.error({ err: errorMessage(err), event }, 'hbone handler failed');
      try {
        resource?.destroy();
      } catch (destroyErr) {
        this.log.error({ err: errorMessage(destroyErr), event }, 'hbone cleanup failed');
      }
    }
  }

  private onTlsError(err: NodeJS.ErrnoException, socket: TLSSocket): void {
    const timeout = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    if (timeout) this.guards.limitHit('tls_handshake_timeout');
    this.guards.earlyDeny('tls_handshake');
    this.log.info(
      { peer: socket.remoteAddress, reason: timeout ? 'handshake timeout' : 'handshake failed', err: err.message },
      'hbone connection denied early',
    );
    if (!socket.destroyed) socket.destroy();
  }

  private onSession(session: ServerHttp2Session): void {
    session.on('error', (err) => this.log.debug({ err: err.message }, 'hbone session error'));
    const socket = session.socket as TLSSocket;
    let identity: SessionInfo | HboneError;
    try {
      const { uri, id } = peerSpiffeId(socket, this.options.trustDomain);
      identity = { peer: id, peerUri: uri, peerAddress: { ip: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 } };
    } catch (err) {
      identity = err instanceof HboneError ? err : new HboneError('HBONE_IDENTITY_ERROR', errorMessage(err), { cause: err });
      this.guards.earlyDeny('peer_identity');
      this.log.warn({ peer: socket.remoteAddress, reason: identity.message }, 'hbone peer identity refused');
    }
    const keepalive = new SessionKeepalive(
      session,
      (failure, err) => {
        this.log.info({ peer: socket.remoteAddress, reason: failure, err: err?.message }, 'hbone peer not answering pings');
        if (!session.destroyed) session.destroy();
      },
      this.options.keepalive,
    );
    this.sessions.set(session, { identity, keepalive, streams: 0 });
    endsSessionOnFin(session, socket, `hbone session from ${socket.remoteAddress ?? 'a closed socket'}`);
    session.once('close', () => {
      keepalive.stop();
      this.sessions.delete(session);
    });
    if (session.destroyed || session.closed) return;
    // A handshake that completed while the server was closing: GOAWAY at once.
    if (this.closing.signal.aborted) {
      session.close();
      return;
    }
    session.setLocalWindowSize(HBONE_CONNECTION_WINDOW_BYTES);
    // The client exceeded our SETTINGS_MAX_HEADER_LIST_SIZE or sent garbage: nghttp2 reports it here.
    session.on('frameError', (type: number, code: number) => this.log.debug({ type, code }, 'hbone frame error'));
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    // Errors surface through the handler's tunnel ('close' without an end); this only keeps them from being uncaught.
    stream.on('error', (err) => this.log.debug({ err: err.message }, 'hbone stream error'));
    const state = this.sessions.get(stream.session as ServerHttp2Session);
    if (state === undefined || state.identity instanceof HboneError) {
      this.refuse(stream, 401, state?.identity instanceof HboneError ? state.identity.message : 'no verified peer identity');
      return;
    }
    if (state.streams >= this.limits.maxStreamsPerConnection) {
      this.guards.limitHit('hbone_streams');
      this.log.warn({ peer: state.identity.peerUri, limit: this.limits.maxStreamsPerConnection }, 'hbone stream limit reached');
      stream.close(REFUSED_STREAM);
      return;
    }
    state.streams++;
    stream.once('close', () => {
      state.streams--;
    });
    if (headers[':method'] !== 'CONNECT') {
      this.refuse(stream, 400, `method ${String(headers[':method'])} is not CONNECT`);
      return;
    }
    let target: SocketAddr;
    try {
      target = parseAuthority(headers[':authority']);
    } catch (err) {
      this.refuse(stream, 400, errorMessage(err));
      return;
    }
    this.serve(stream, { ...state.identity, target, headers });
  }

  /** Runs the handler under the deadline; the request's signal also aborts when the client goes away. */
  private serve(stream: ServerHttp2Stream, request: HboneRequest): void {
    const controller = new AbortController();
    const timeoutMs = this.limits.handleTimeoutMs;
    const timer = setTimeout(
      () => controller.abort(new HboneError('HBONE_CONNECT_TIMEOUT', `CONNECT ${request.headers[':authority']}: not served in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onGone = (): void => controller.abort(new HboneError('HBONE_STREAM_FAILED', `CONNECT ${request.headers[':authority']}: the client went away`));
    const onClosing = (): void => controller.abort(this.closing.signal.reason);
    stream.once('close', onGone);
    this.closing.signal.addEventListener('abort', onClosing, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      stream.off('close', onGone);
      this.closing.signal.removeEventListener('abort', onClosing);
    };
    // A timeout answers 503 at once; the handler's own answer, when it comes, is then abandoned.
    controller.signal.addEventListener('abort', () => this.refuse(stream, 503, errorMessage(controller.signal.reason)), { once: true });
    let answering: Promise<HboneAnswer>;
    try {
      answering = this.options.handle(request, controller.signal);
    } catch (err) {
      answering = Promise.reject(err);
    }
    answering
      .then((answer) => {
        done();
        this.answer(stream, answer, controller.signal);
      })
      .catch((err: unknown) => {
        done();
        this.log.error({ err: errorMessage(err), peer: request.peerUri }, 'hbone handler failed');
        this.refuse(stream, 503, 'internal error');
      });
  }

  private answer(stream: ServerHttp2Stream, answer: HboneAnswer, signal: AbortSignal): void {
    if (answer.kind === 'reject') {
      this.refuse(stream, answer.status, answer.reason);
      return;
    }
    if (signal.aborted || stream.destroyed || stream.closed || stream.headersSent) {
      answer.abandon(signal.aborted ? (signal.reason as Error) : new Error('client went away before 200'));
      return;
    }
    try {
      stream.respond({ ':status': 200, ...(answer.responseHeaders ?? {}) });
    } catch (err) {
      answer.abandon(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    answer.open(stream);
  }

  private refuse(stream: ServerHttp2Stream, status: number, reason: string): void {
    this.log.debug({ status, reason }, 'hbone connect refused');
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    try {
      stream.respond({ ':status': status }, { endStream: true });
    } catch (err) {
      // The session went away between the check and the answer: nothing left to tell.
      this.log.debug({ status, err: errorMessage(err) }, 'hbone refusal not sent');
      stream.destroy();
    }
  }
}

/**
 * The server's closing signal: every stream still in its handler listens to
 * it (removed when the handler settles), so its listener count is the number
 * of CONNECTs in flight, not a leak.
 */
function closingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
