/**
 * The HTTP side every HTTP stand-in shares: one node:http server on one port,
 * bounded (header size, header and request timeouts, connection count), a
 * per-request record for the access log, and a close that aborts whatever
 * its handlers still wait on (upstream calls, /delay timers) before it drops
 * the connections.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { errorMessage } from '../../shared/errors.js';
import { StandinError } from './errors.js';

/** One answered (or abandoned) request, for the stand-in's access log. */
export interface RequestRecord {
  readonly standin: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly remote: string;
}

/** One finished TCP connection of a raw-TCP stand-in (tcp-echo). */
export interface ConnectionRecord {
  readonly standin: string;
  readonly port: number;
  readonly remote: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly durationMs: number;
}

/** What a running stand-in reports; every member optional, none may throw. */
export interface StandinEvents {
  readonly request?: (record: RequestRecord) => void;
  readonly connection?: (record: ConnectionRecord) => void;
  /** A handler failed; the request was answered 500 or reset, the stand-in keeps running. */
  readonly handlerError?: (err: unknown, where: string) => void;
}

/**
 * Handles one request. `signal` aborts when the stand-in closes or the
 * client goes away; handlers pass it to upstream calls and timers.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => Promise<void>;

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** Limits of every stand-in listener. */
const MAX_HEADER_BYTES = 16 * 1024;
const HEADERS_TIMEOUT_MS = 10_000;
/** Above httpbin's largest /delay (its max duration) so that one is never cut. */
const REQUEST_TIMEOUT_MS = 120_000;
const MAX_CONNECTIONS = 1024;

/** Listens on `host:port` (port 0 picks one) and answers with `handler`. */
export async function listenHttp(
  standin: string,
  handler: HttpHandler,
  port: number,
  host: string,
  events: StandinEvents,
): Promise<Listener> {
  const owner = new AbortController();
  const server = http.createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const startedMs = performance.now();
    const perRequest = new AbortController();
    const abort = (): void => perRequest.abort();
    owner.signal.addEventListener('abort', abort, { once: true });
    res.once('close', () => {
      owner.signal.removeEventListener('abort', abort);
      perRequest.abort();
      events.request?.({
        standin,
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.writableFinished ? res.statusCode : 499,
        durationMs: Math.round(performance.now() - startedMs),
        remote: req.socket.remoteAddress ?? '',
      });
    });
    handler(req, res, perRequest.signal).catch((err: unknown) =>
      failRequest(res, err, `${standin} ${req.method} ${req.url}`, events),
    );
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const bound = await bind(server, port, host, standin);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        owner.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function failRequest(res: ServerResponse, err: unknown, where: string, events: StandinEvents): void {
  events.handlerError?.(err, where);
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('internal error\n');
  } else {
    res.destroy();
  }
}

/** Binds a server, naming the address when it is taken. Resolves the bound port. */
export function bind(server: NetServer, port: number, host: string, standin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new StandinError(
            'STANDIN_PORT_IN_USE',
            `${standin}: port ${port} on ${host} is already in use (EADDRINUSE); another process or container listens there`,
            { cause: err },
          ),
        );
      } else {
        reject(
          new StandinError(
            'STANDIN_LISTEN_FAILED',
            `${standin}: cannot listen on ${host}:${port}: ${errorMessage(err)}`,
            { cause: err },
          ),
        );
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Reads a request body up to `maxBytes`; `undefined` when it is larger. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) over = true;
      if (!over) chunks.push(chunk);
    });
    req.once('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Answers with a body and its content type. */
export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers: Readonly<Record<string, string | string[]>> = {},
): void {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': String(payload.length),
  });
  res.end(payload);
}

/** The path of a request without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
