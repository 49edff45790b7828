/**
 * Binds gRPC servers for xDS the way istiod does: plaintext (h2c) on 15010,
 * not authenticated and so meant for loopback, and TLS on 15012, where every
 * stream authenticates (see auth.ts). The TLS server may be brought by the
 * caller (istiod adds the CA service to it), so the CA is never reachable in
 * plaintext.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../../shared/errors.js';
import { XdsError } from './errors.js';
import { xdsServerCredentials } from './server-credentials.js';
import type { XdsServer } from './server.js';
import { PORT_XDS_PLAINTEXT, PORT_XDS_TLS } from '../../shared/ports-and-limits.js';

export const XDS_PLAINTEXT_PORT = PORT_XDS_PLAINTEXT;
export const XDS_TLS_PORT = PORT_XDS_TLS;

export interface XdsTlsMaterial {
  /** The server's certificate chain (PEM), leaf first. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /**
   * Roots to verify client certificates against: a certificate is requested
   * but not required (a node agent may bring a token instead), and only one
   * that verifies reaches the authenticator. Absent = no client certificates.
   */
  readonly rootPem?: string;
}

export interface XdsListenOptions {
  /**
   * `host:port` for plaintext, e.g. `127.0.0.1:15010` or `127.0.0.1:0`;
   * omitted = no plaintext listener. Streams there are not authenticated.
   */
  readonly plaintextAddress?: string;
  /** `host:port` for TLS, e.g. `0.0.0.0:15012`; requires `tls`. */
  readonly tlsAddress?: string;
  readonly tls?: XdsTlsMaterial;
  /** An existing server to bind the TLS address on (xDS is added to it here). */
  readonly tlsServer?: grpc.Server;
  /** An existing server to bind the plaintext address on (xDS is added to it here). */
  readonly plaintextServer?: grpc.Server;
  /** Options for servers created here. */
  readonly serverOptions?: grpc.ServerOptions;
}

export interface XdsListeners {
  readonly plaintextPort?: number;
  readonly tlsPort?: number;
  readonly plaintextServer?: grpc.Server;
  readonly tlsServer?: grpc.Server;
  /**
   * Shuts down every server an address was bound on, a server the caller
   * brought included (with whatever else it serves): graceful first, forced
   * after `graceMs`.
   */
  close(graceMs?: number): Promise<void>;
}

/** The gRPC options istiod's ADS needs: large messages (a full Address sync can be tens of MB). */
export const XDS_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.max_send_message_length': -1,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

export async function listenXds(xds: XdsServer, options: XdsListenOptions): Promise<XdsListeners> {
  if (options.tlsAddress !== undefined && options.tls === undefined) {
    throw new XdsError(
      'XDS_INVALID_OPTION',
      `xds TLS address ${options.tlsAddress}: no certificate and key given`,
    );
  }
  if (options.tlsAddress !== undefined && !xds.authenticates) {
    throw new XdsError(
      'XDS_INVALID_OPTION',
      `xds TLS address ${options.tlsAddress}: the xds server has no authenticator, so TLS streams could not be authenticated`,
    );
  }
  const created: grpc.Server[] = [];
  const result: {
    plaintextPort?: number;
    tlsPort?: number;
    plaintextServer?: grpc.Server;
    tlsServer?: grpc.Server;
  } = {};
  try {
    if (options.plaintextAddress !== undefined) {
      const server =
        options.plaintextServer ??
        track(created, new grpc.Server({ ...XDS_SERVER_OPTIONS, ...options.serverOptions }));
      xds.addToServer(server, 'plaintext');
      result.plaintextPort = await bind(
        server,
        options.plaintextAddress,
        grpc.ServerCredentials.createInsecure(),
      );
      result.plaintextServer = server;
    }
    if (options.tlsAddress !== undefined && options.tls !== undefined) {
      const tls = options.tls;
      const server =
        options.tlsServer ??
        track(created, new grpc.Server({ ...XDS_SERVER_OPTIONS, ...options.serverOptions }));
      xds.addToServer(server, 'tls');
      result.tlsPort = await bind(server, options.tlsAddress, xdsServerCredentials(tls));
      result.tlsServer = server;
    }
  } catch (err) {
    for (const s of created) s.forceShutdown();
    throw err;
  }
  const servers = [result.plaintextServer, result.tlsServer].filter((s): s is grpc.Server => s !== undefined);
  return {
    ...result,
    close: (graceMs = 5_000) => Promise.all(servers.map((s) => shutdown(s, graceMs))).then(() => undefined),
  };
}

function track(list: grpc.Server[], server: grpc.Server): grpc.Server {
  list.push(server);
  return server;
}

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => {
      if (err !== null) {
        reject(
          new XdsError('XDS_LISTEN_FAILED', `xds: cannot listen on ${address}: ${errorMessage(err)}`, {
            cause: err,
          }),
        );
        return;
      }
      resolve(port);
    });
  });
}

function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
