/**
 * The stats listener (15020): the Prometheus text exposition on `/metrics`
 * and, as Istio's proxies also serve it, `/stats/prometheus`. gzip when the
 * scraper accepts it (Prometheus does).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logging.js';
import { HttpListener, sendText } from './http-listener.js';
import { PORT_STATS } from '../../shared/ports-and-limits.js';

/** ztunnel's default stats port. */
export const STATS_PORT = PORT_STATS;
export const STATS_PATHS: readonly string[] = ['/metrics', '/stats/prometheus'];

const gzipAsync = promisify(gzip);

/** True when `Accept-Encoding` lists gzip (or `*`) with a non-zero quality. */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

export interface StatsServerOptions {
  readonly registry: Registry;
  readonly logger: Logger;
}

export class StatsServer {
  private readonly listener: HttpListener;

  constructor(private readonly options: StatsServerOptions) {
    this.listener = new HttpListener('stats', (req, res, url) => this.handle(req, res, url), options.logger);
  }

  listen(host: string, port: number): Promise<number> {
    return this.listener.listen(host, port);
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!STATS_PATHS.includes(url.pathname)) {
      sendText(res, 404, `no such endpoint: ${url.pathname}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const text = await this.options.registry.metrics();
    const headers: Record<string, string> = {
      'content-type': this.options.registry.contentType,
      vary: 'accept-encoding',
    };
    let body: Buffer = Buffer.from(text);
    if (acceptsGzip(req.headers['accept-encoding'])) {
      body = await gzipAsync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
