/**
 * Readiness (15021): the agent is ready when every start-up task it
 * registered is done. Same answers as ztunnel's readiness server:
 * `200 ready`, or `500 not ready, pending: <sorted task names>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logging.js';
import { HttpListener, sendText } from './http-listener.js';
import { PORT_READINESS } from '../../shared/ports-and-limits.js';

/** ztunnel's readiness port (not configurable in Istio). */
export const READINESS_PORT = PORT_READINESS;
export const READINESS_PATH = '/healthz/ready';

/**
 * Start-up tasks the agent waits for ("state manager", "proxy", ...). A task
 * name may be registered more than once; it is pending until each of its
 * registrations is marked done.
 */
export class Readiness {
  /** Outstanding registrations per task name. */
  private readonly pendingCounts = new Map<string, number>();

  /** Registers a pending task; the returned function marks it done (calling it again does nothing). */
  register(name: string): () => void {
    this.pendingCounts.set(name, (this.pendingCounts.get(name) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.pendingCounts.get(name) ?? 1) - 1;
      if (left === 0) this.pendingCounts.delete(name);
      else this.pendingCounts.set(name, left);
    };
  }

  /** Task names still pending, sorted. */
  pending(): string[] {
    return [...this.pendingCounts.keys()].sort();
  }

  isReady(): boolean {
    return this.pendingCounts.size === 0;
  }
}

export interface ReadinessServerOptions {
  readonly readiness: Readiness;
  readonly logger: Logger;
}

export class ReadinessServer {
  private readonly listener: HttpListener;

  constructor(private readonly options: ReadinessServerOptions) {
    this.listener = new HttpListener(
      'readiness',
      (req, res, url) => this.handle(req, res, url),
      options.logger,
    );
  }

  listen(host: string, port: number): Promise<number> {
    return this.listener.listen(host, port);
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname !== READINESS_PATH) {
      sendText(res, 404, `no such endpoint: ${url.pathname}\n`);
      return;
    }
    if (req.method !== 'GET') {
      sendText(res, 405, 'method not allowed\n', { allow: 'GET' });
      return;
    }
    const pending = this.options.readiness.pending();
    if (pending.length === 0) sendText(res, 200, 'ready\n');
    else sendText(res, 500, `not ready, pending: ${pending.join(', ')}\n`);
  }
}
