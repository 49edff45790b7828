/**
 * Dialing one HBONE connection: TCP (through the caller's connector, inside
 * the source pod's netns in the agent), then TLS 1.3 with the source
 * workload's certificate and the peer's SPIFFE identity checked, then the
 * HTTP/2 handshake (the peer's SETTINGS). One deadline covers the three
 * steps; whatever was opened when it passes is destroyed.
 */
import http2, { type ClientHttp2Session, type Http2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { withDeadline } from '../../shared/deadline.js';
import { formatAuthority, type SocketAddr } from './authority.js';
import { HboneError } from './errors.js';
import { uriSans } from './peer-identity.js';
import {
  HBONE_ALPN,
  HBONE_CLIENT_MAX_HEADER_LIST_BYTES,
  HBONE_CONNECTION_WINDOW_BYTES,
  HBONE_MAX_FRAME_BYTES,
  HBONE_STREAM_WINDOW_BYTES,
  HBONE_TLS_VERSION,
  type TlsMaterial,
} from './tls-material.js';

/** What a dial needs to know about the source workload. */
export interface DialSource {
  /** The source workload's certificate, presented to the peer. */
  readonly material: TlsMaterial;
  /** Opens the TCP connection (inside the source pod's netns in the agent). */
  readonly connect: (target: SocketAddr) => Promise<Socket>;
}

export interface DialRequest {
  readonly source: DialSource;
  /** The peer's `ip:15008`. */
  readonly destination: SocketAddr;
  /** SPIFFE URIs the peer certificate may carry. */
  readonly expectedIdentities: readonly string[];
  /** Covers TCP connect, TLS and the HTTP/2 handshake together. */
  readonly timeoutMs: number;
}

/** Opens a verified mTLS HTTP/2 connection to an HBONE peer. */
export function dialHbone(req: DialRequest): Promise<ClientHttp2Session> {
  const dst = formatAuthority(req.destination);
  const opened: { socket?: Socket; session?: ClientHttp2Session } = {};
  return withDeadline(
    {
      timeoutMs: req.timeoutMs,
      timeoutError: () => new HboneError('HBONE_CONNECT_TIMEOUT', `connect to ${dst}: not established in ${req.timeoutMs} ms`),
      dispose: (session) => session.destroy(),
    },
    async (signal) => {
      signal.addEventListener('abort', () => {
        opened.session?.destroy();
        opened.socket?.destroy();
      }, { once: true });
      const socket = await req.source.connect(req.destination).catch((err: unknown) => {
        throw err instanceof HboneError ? err : new HboneError('HBONE_TCP_FAILURE', `tcp to ${dst}: ${(err as Error).message}`, { cause: err });
      });
      if (signal.aborted) {
        socket.destroy();
        throw signal.reason as Error;
      }
      opened.socket = socket;
      const tlsSocket = await handshake(socket, req, dst).catch((err: unknown) => {
        socket.destroy();
        throw err;
      });
      opened.socket = tlsSocket;
      if (signal.aborted) {
        tlsSocket.destroy();
        throw signal.reason as Error;
      }
      const session = http2.connect(`https://${dst}`, {
        createConnection: () => tlsSocket,
        settings: {
          enablePush: false,
          initialWindowSize: HBONE_STREAM_WINDOW_BYTES,
          maxFrameSize: HBONE_MAX_FRAME_BYTES,
          maxHeaderListSize: HBONE_CLIENT_MAX_HEADER_LIST_BYTES,
        },
      });
      opened.session = session;
      endsSessionOnFin(session, tlsSocket, dst);
      await peerSettings(session, tlsSocket, dst).catch((err: unknown) => {
        session.destroy();
        throw err;
      });
      if (session.destroyed || session.closed) {
        throw new HboneError('HBONE_H2_HANDSHAKE_FAILURE', `http2 to ${dst}: connection closed during the handshake`);
      }
      session.setLocalWindowSize(HBONE_CONNECTION_WINDOW_BYTES);
      return session;
    },
  );
}

/**
 * HTTP/2 has no half-closed connection: the peer's FIN (its process died,
 * its kernel closed the socket) ends the session at once, so its streams
 * are reset now instead of when the next PING times out. Sockets made with
 * `allowHalfOpen` (the agent's in-netns sockets) would otherwise keep it.
 */
export function endsSessionOnFin(session: Http2Session, socket: Duplex, where: string): void {
  socket.once('end', () => {
    if (!session.destroyed) session.destroy(new HboneError('HBONE_SESSION_DEAD', `${where}: the peer closed the connection`));
  });
}

function handshake(socket: Socket, req: DialRequest, dst: string): Promise<TLSSocket> {
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
        // As the server does with clients: exactly one SPIFFE identity, and an expected one.
        const uris = uriSans(new X509Certificate(cert.raw)).filter((u) => u.startsWith('spiffe://'));
        if (uris.length === 1 && expected.has(uris[0]!)) return undefined;
        return new HboneError(
          'HBONE_IDENTITY_ERROR',
          uris.length > 1
            ? `${dst} presented ${uris.length} SPIFFE URI SANs (${uris.join(', ')}); exactly one is required`
            : `${dst} presented ${uris[0] ?? 'no SPIFFE URI SAN'}; expected ${[...expected].join(' or ')}`,
        );
      },
    });
    const onError = (err: Error): void =>
      reject(err instanceof HboneError ? err : new HboneError('HBONE_TLS_FAILURE', `tls to ${dst}: ${err.message}`, { cause: err }));
    const onClose = (): void => reject(new HboneError('HBONE_TLS_FAILURE', `tls to ${dst}: connection closed during the handshake`));
    s.once('error', onError);
    s.once('close', onClose);
    s.once('secureConnect', () => {
      s.off('error', onError);
      s.off('close', onClose);
      if (s.alpnProtocol !== 'h2') {
        s.destroy();
        reject(new HboneError('HBONE_TLS_FAILURE', `${dst} did not negotiate ALPN h2`));
        return;
      }
      resolve(s);
    });
  });
}

/** Resolves on the peer's first SETTINGS; a close or alert before them is a refusal. */
function peerSettings(session: ClientHttp2Session, tlsSocket: TLSSocket, dst: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (failure: Error | undefined): void => {
      cleanup();
      // The peer closing before its SETTINGS is the same refusal as a plain close.
      const err = failure instanceof HboneError && failure.code === 'HBONE_SESSION_DEAD' ? undefined : failure;
      reject(
        new HboneError(
          // With TLS 1.3 the server judges our certificate after our handshake
          // completed: its refusal arrives here, as an alert or a close before
          // any SETTINGS (a server that accepted TLS sends its SETTINGS at once).
          err === undefined || /alert|certificate/i.test(err.message) ? 'HBONE_TLS_FAILURE' : 'HBONE_H2_HANDSHAKE_FAILURE',
          `http2 to ${dst}: ${err?.message ?? 'connection closed before the peer settings (was our certificate refused?)'}`,
          { cause: err },
        ),
      );
    };
    const onClose = (): void => fail(undefined);
    const onSettings = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      session.off('remoteSettings', onSettings);
      session.off('error', fail);
      tlsSocket.off('error', fail);
      session.off('close', onClose);
    };
    session.once('remoteSettings', onSettings);
    session.once('error', fail);
    tlsSocket.once('error', fail);
    session.once('close', onClose);
  });
}
