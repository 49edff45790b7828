/**
 * Loopback clients for the stand-in tests: one HTTP request with its whole
 * answer, a capture server that records what a stand-in sends upstream, and
 * a raw TCP exchange.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export function request(
  port: number,
  path: string,
  opts: {
    readonly method?: string;
    readonly headers?: Record<string, string>;
    readonly body?: string;
    readonly host?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // An explicit length: node sends a GET/DELETE body unframed otherwise.
    const headers =
      opts.body === undefined
        ? opts.headers
        : { 'content-length': String(Buffer.byteLength(opts.body)), ...opts.headers };
    const req = http.request(
      { host: opts.host ?? '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function getJson(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const a = await request(port, path, { headers });
  return { status: a.status, json: JSON.parse(a.body) as Record<string, unknown> };
}

/** A server that answers with `reply` and records each request's path and headers. */
export interface Capture {
  readonly port: number;
  readonly seen: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export type Reply = (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void;

export async function captureServer(reply: Reply, host = '127.0.0.1'): Promise<Capture> {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    reply(seen.length, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Writes `data`, half-closes, and collects everything until the server closes. */
export function tcpExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.end(data));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}
