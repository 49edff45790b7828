/**
 * The validating admission webhook's HTTPS listener (istiod's 15017):
 * `POST /validate` (and `/validate/...`) answers AdmissionReviews, `GET
 * /ready` answers 200. Malformed requests get an HTTP error with a plain
 * message, counted in galley_validation_http_error by status.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logging.js';
import { admissionResponse, admit, decodeAdmissionReview } from './admission.js';
import { WebhookError } from './errors.js';
import { WebhookMetrics } from './metrics.js';

/** The webhook's port in Istio. */
export const DEFAULT_WEBHOOK_ADDR = '0.0.0.0:15017';
/** Larger bodies are refused with 413 (the API server's own request limit is 3 MiB). */
export const MAX_ADMISSION_BODY_BYTES = 6 * 1024 * 1024;
/** A request must arrive whole within this time. */
export const ADMISSION_REQUEST_TIMEOUT_MS = 10_000;
/** How long close() waits for in-flight reviews before cutting connections. */
const CLOSE_GRACE_MS = 1000;

export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  /** Serving certificate chain (leaf first) and key, PEM. */
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly registry: Registry;
  readonly logger: Logger;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(new HttpFailure(413, `request body larger than ${maxBytes} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

export class WebhookServer {
  readonly metrics: WebhookMetrics;
  private readonly server: https.Server;
  private readonly log: Logger;

  constructor(private readonly options: WebhookServerOptions) {
    this.metrics = new WebhookMetrics(options.registry);
    this.log = options.logger.child({ component: 'webhook' });
    this.server = https.createServer(
      { cert: options.certChainPem, key: options.keyPem, minVersion: 'TLSv1.2' },
      (req, res) => this.handle(req, res),
    );
    this.server.requestTimeout = ADMISSION_REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = ADMISSION_REQUEST_TIMEOUT_MS;
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new WebhookError(
            'WEBHOOK_LISTEN_FAILED',
            `webhook listener ${this.options.host}:${this.options.port}: ${err.message}`,
            { cause: err },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const port = (this.server.address() as AddressInfo).port;
        this.log.info({ host: this.options.host, port }, 'webhook listening');
        resolve(port);
      });
    });
  }

  /** Replaces the serving certificate for new connections (e.g. after a renewal). */
  setCertificate(certChainPem: string, keyPem: string): void {
    this.server.setSecureContext({ cert: certChainPem, key: keyPem });
  }

  /** Stops accepting, lets in-flight reviews finish for a moment, then cuts what is left. */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    if (path === '/ready') {
      this.reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    if (path !== '/validate' && !path.startsWith('/validate/')) {
      this.fail(res, new HttpFailure(404, `no handler for ${path}; admission reviews go to /validate`));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      this.fail(res, new HttpFailure(405, `${req.method ?? ''} ${path}: admission reviews are POSTed`));
      return;
    }
    this.review(req).then(
      (body) => this.reply(res, 200, 'application/json', body),
      (err: unknown) => this.fail(res, err),
    );
  }

  private async review(req: IncomingMessage): Promise<string> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const body = await readBody(req, MAX_ADMISSION_BODY_BYTES);
    if (body.length === 0) throw new HttpFailure(400, 'no body found: POST an AdmissionReview');
    if (contentType !== 'application/json') {
      throw new HttpFailure(
        415,
        `invalid Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}, want application/json`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HttpFailure(400, `could not decode body: not JSON: ${(err as Error).message}`);
    }
    let request;
    try {
      request = decodeAdmissionReview(parsed);
    } catch (err) {
      if (err instanceof WebhookError) throw new HttpFailure(400, `could not decode body: ${err.message}`);
      throw err;
    }
    const verdict = admit(request);
    switch (verdict.kind) {
      case 'allowed':
        this.metrics.recordPassed(request.resource);
        break;
      case 'not-validated':
        this.metrics.recordFailed(request.resource, verdict.reason);
        break;
      case 'denied':
        this.metrics.recordFailed(request.resource, verdict.reason);
        this.log.info(
          {
            uid: request.uid,
            operation: request.operation,
            reason: verdict.reason,
            errors: verdict.errors.length,
          },
          'admission denied',
        );
        break;
    }
    return JSON.stringify(admissionResponse(request, verdict));
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof HttpFailure) {
      this.metrics.recordHttpError(err.status);
      this.reply(res, err.status, 'text/plain; charset=utf-8', `${err.message}\n`);
      return;
    }
    this.log.error({ err }, 'admission review failed');
    this.metrics.recordHttpError(500);
    this.reply(res, 500, 'text/plain; charset=utf-8', 'internal error while reviewing the request\n');
  }

  private reply(res: ServerResponse, status: number, contentType: string, body: string): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}
