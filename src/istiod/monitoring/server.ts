/**
 * istiod's monitoring listener (15014): Prometheus /metrics, the debug
 * endpoints operators and `ambit proxy-status` read, and /ready.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logging.js';
import type { HostPort } from '../config.js';

/** A debug endpoint: returns JSON-serialisable data, sorted so that output is stable. */
export type DebugHandler = (query: URLSearchParams) => unknown;

export interface MonitoringOptions {
  readonly address: HostPort;
  readonly registry: Registry;
  readonly debug: Readonly<Record<string, DebugHandler>>;
  readonly isReady: () => boolean;
  readonly logger: Logger;
}

export class MonitoringServer {
  private readonly server: Server;

  constructor(private readonly options: MonitoringOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        options.logger.error({ err, path: req.url }, 'monitoring request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.address.port, this.options.address.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' });
      res.end('method not allowed\n');
      return;
    }
    if (url.pathname === '/metrics') {
      const body = await this.options.registry.metrics();
      res.writeHead(200, { 'content-type': this.options.registry.contentType });
      res.end(body);
      return;
    }
    if (url.pathname === '/ready') {
      const ready = this.options.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    if (url.pathname === '/debug' || url.pathname === '/debug/list') {
      this.json(res, 200, Object.keys(this.options.debug).sort().map((k) => `/debug/${k}`));
      return;
    }
    const name = url.pathname.startsWith('/debug/') ? url.pathname.slice('/debug/'.length) : undefined;
    const handler = name !== undefined ? this.options.debug[name] : undefined;
    if (handler === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no such endpoint: ${url.pathname}\n`);
      return;
    }
    this.json(res, 200, handler(url.searchParams));
  }

  private json(res: ServerResponse, status: number, data: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(data, null, 2)}\n`);
  }
}
