/**
 * A small Kubernetes REST client for list and watch: JSON GETs and
 * newline-delimited watch streams over node:http(s), authenticated by a
 * KubeConnection (kubeconfig.ts), whose credentials are applied afresh to
 * every request so rotated tokens are picked up.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { errorMessage } from '../../../../shared/errors.js';
import { KubeSourceError } from './errors.js';
import type { KubeConnection } from './kubeconfig.js';

/** A decoded watch event line: `{"type": "ADDED", "object": {...}}`. */
export interface WatchEvent {
  readonly type: string;
  readonly object: Readonly<Record<string, unknown>>;
}

export interface KubeApiClientOptions {
  /** Deadline for a non-watch request, connection included. */
  readonly requestTimeoutMs?: number;
  /** Longest watch event line accepted; a longer one fails the stream. */
  readonly maxLineBytes?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
/** How much of an error body is kept to read the Status message from. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class KubeApiClient {
  private readonly requestTimeoutMs: number;
  private readonly maxLineBytes: number;

  constructor(
    private readonly kc: KubeConnection,
    options: KubeApiClientOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** The API server's base URL from the kubeconfig. */
  get server(): string {
    return this.kc.server;
  }

  /** GETs a path and decodes the JSON body. Non-2xx answers reject with the status (410 as KUBE_GONE). */
  async getJson(path: string, query: Readonly<Record<string, string>> = {}, signal?: AbortSignal): Promise<unknown> {
    const res = await this.request(path, query, this.requestTimeoutMs, signal);
    const body = await readBody(res, Number.POSITIVE_INFINITY);
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      throw new KubeSourceError('KUBE_BAD_RESPONSE', `GET ${path}: the body is not JSON`, { cause: err });
    }
  }

  /**
   * Opens a watch (`watch=1` is added) and calls `onEvent` for every event
   * line, synchronously and in order. Resolves when the server ends the
   * stream; rejects when it cannot be opened, breaks, a line is not an
   * event, `onEvent` throws (the stream is then closed), or `deadlineMs`
   * passes (a guard above the server-side `timeoutSeconds`).
   */
  async watch(
    path: string,
    query: Readonly<Record<string, string>>,
    onEvent: (event: WatchEvent) => void,
    options: { readonly deadlineMs: number; readonly signal?: AbortSignal },
  ): Promise<void> {
    const res = await this.request(path, { ...query, watch: '1' }, options.deadlineMs, options.signal);
    await new Promise<void>((resolve, reject) => {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        res.destroy();
        reject(err);
      };
      const line = (buf: Buffer): void => {
        const text = buf.toString('utf8').trim();
        if (text === '') return;
        let event: unknown;
        try {
          event = JSON.parse(text);
        } catch (err) {
          throw new KubeSourceError('KUBE_BAD_RESPONSE', `watch ${path}: an event line is not JSON`, { cause: err });
        }
        if (!isRecord(event) || typeof event['type'] !== 'string' || !isRecord(event['object'])) {
          throw new KubeSourceError('KUBE_BAD_RESPONSE', `watch ${path}: an event line lacks type or object`);
        }
        onEvent({ type: event['type'], object: event['object'] });
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        try {
          let start = 0;
          for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
            const piece = chunk.subarray(start, nl);
            start = nl + 1;
            if (pending.length > 0) {
              pending.push(piece);
              const whole = Buffer.concat(pending);
              pending = [];
              pendingBytes = 0;
              line(whole);
            } else {
              line(piece);
            }
            if (settled) return;
          }
          if (start < chunk.length) {
            pending.push(chunk.subarray(start));
            pendingBytes += chunk.length - start;
            if (pendingBytes > this.maxLineBytes) {
              throw new KubeSourceError('KUBE_BAD_RESPONSE', `watch ${path}: an event line exceeds ${this.maxLineBytes} bytes`);
            }
          }
        } catch (err) {
          fail(err);
        }
      });
      res.on('end', () => {
        if (settled) return;
        try {
          if (pending.length > 0) line(Buffer.concat(pending));
        } catch (err) {
          fail(err);
          return;
        }
        settled = true;
        resolve();
      });
      res.on('error', (err) => fail(unreachable(path, err)));
      res.on('close', () => fail(new KubeSourceError('KUBE_UNREACHABLE', `watch ${path}: the stream was closed mid-event`)));
    });
  }

  /** Sends one GET with the kubeconfig's credentials; resolves with a 2xx response, or rejects with the status. */
  private async request(
    path: string,
    query: Readonly<Record<string, string>>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const opts: https.RequestOptions = {};
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeSourceError('KUBE_CONFIG_INVALID', `credentials for ${url.origin}: ${errorMessage(err)}`, { cause: err });
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, {
        method: 'GET',
        headers: { ...opts.headers, accept: 'application/json' },
        ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
        ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      const timer = setTimeout(() => {
        req.destroy(new KubeSourceError('KUBE_UNREACHABLE', `GET ${path}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const done = (): void => clearTimeout(timer);
      req.on('error', (err) => {
        done();
        reject(err instanceof KubeSourceError || signal?.aborted === true ? err : unreachable(path, err));
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          res.on('close', done);
          resolve(res);
          return;
        }
        readBody(res, MAX_ERROR_BODY_BYTES)
          .then((body) => reject(statusError(path, status, body)))
          .catch((err: unknown) => reject(unreachable(path, err)))
          .finally(done);
      });
      req.end();
    });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unreachable(path: string, err: unknown): KubeSourceError {
  const code = (err as NodeJS.ErrnoException).code;
  return new KubeSourceError('KUBE_UNREACHABLE', `GET ${path}: ${code ?? errorMessage(err)}`, { cause: err });
}

/** Turns a non-2xx answer into an error carrying the Status reason and message when the body is one. */
export function statusError(path: string, status: number, body: Buffer): KubeSourceError {
  let detail = '';
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (isRecord(parsed) && parsed['kind'] === 'Status') {
      detail = [parsed['reason'], parsed['message']].filter((s) => typeof s === 'string' && s !== '').join(': ');
    }
  } catch {
    // Not a Status body (a proxy's HTML page, say): the HTTP status alone says what failed.
  }
  const message = `GET ${path}: HTTP ${status}${detail !== '' ? ` (${detail})` : ''}`;
  return new KubeSourceError(status === 410 ? 'KUBE_GONE' : 'KUBE_REQUEST_FAILED', message, { statusCode: status });
}

function readBody(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size >= maxBytes) return;
      chunks.push(c);
      size += c.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}
