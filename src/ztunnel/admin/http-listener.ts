/**
 * The plumbing the agent's three local HTTP servers share: bind, report the
 * bound port, answer a handler's failure with a 500 (logged), close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/logging.js';
import { AdminError } from './errors.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export class HttpListener {
  private readonly server: Server;

  constructor(
    private readonly name: string,
    handler: RequestHandler,
    private readonly logger: Logger,
  ) {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let pending: void | Promise<void>;
      try {
        pending = handler(req, res, url);
      } catch (err) {
        this.fail(res, url, err);
        return;
      }
      if (pending instanceof Promise) pending.catch((err: unknown) => this.fail(res, url, err));
    });
  }

  /** Binds `host:port` (port 0 picks a free one) and resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(
          new AdminError(
            'ADMIN_LISTEN_FAILED',
            `${this.name} server: cannot listen on ${host}:${port}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const bound = (this.server.address() as AddressInfo).port;
    this.logger.info({ server: this.name, host, port: bound }, 'listening');
    return bound;
  }

  /** Stops accepting, drops open keep-alive connections and resolves once closed. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private fail(res: ServerResponse, url: URL, err: unknown): void {
    this.logger.error({ err, server: this.name, path: url.pathname }, 'request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('internal error\n');
  }
}

/** Writes a complete plain-text answer. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}
