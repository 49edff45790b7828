/**
 * A small JSON client for the few Kubernetes API calls the CA makes
 * (TokenReview, Pods, Secrets, ConfigMaps, Namespaces). Credentials and the
 * server address come from a `KubeConfig` (in-cluster or a kubeconfig file);
 * every request is bounded by a timeout, and transport failures become
 * KUBE_API_UNAVAILABLE so callers can answer "try again" instead of crashing.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeCaError } from './errors.js';

/**
 * Where the API server is and how to authenticate to it: the part of
 * @kubernetes/client-node's `KubeConfig` this client uses (a KubeConfig
 * fits as it is). Kept structural so this module does not load the library.
 */
export interface KubeCredentials {
  getCurrentCluster(): { readonly server: string } | null;
  /** Adds TLS material, an agent and auth headers to request options. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** Each API call gives up after this long. */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 5000;
/** Answers larger than this are refused (a namespace list of a big cluster stays well below). */
export const MAX_KUBE_RESPONSE_BYTES = 16 * 1024 * 1024;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An API answer: the HTTP status and the decoded JSON body (undefined when empty). */
export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/** The transport the CA's Kubernetes code talks through; tests may substitute their own. */
export interface KubeRestClient {
  /** The server's base URL, for messages. */
  readonly server: string;
  request(method: HttpMethod, path: string, body?: unknown): Promise<KubeResponse>;
}

export interface KubeConfigClientOptions {
  readonly timeoutMs?: number;
}

/** A KubeRestClient over node's http(s), authenticated as the credentials' current user. */
export class KubeConfigRestClient implements KubeRestClient {
  readonly server: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly kubeConfig: KubeCredentials,
    options: KubeConfigClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) {
      throw new KubeCaError('KUBE_API_FAILED', 'the kubeconfig has no current cluster');
    }
    this.server = cluster.server.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS;
  }

  async request(method: HttpMethod, path: string, body?: unknown): Promise<KubeResponse> {
    const url = new URL(this.server + path);
    const opts: https.RequestOptions = { method, headers: {} };
    try {
      // Re-applied per request: in-cluster tokens are rotated on disk.
      await this.kubeConfig.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeCaError(
        'KUBE_API_UNAVAILABLE',
        `credentials for ${this.server} cannot be loaded: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = {
      ...(opts.headers as http.OutgoingHttpHeaders),
      accept: 'application/json',
      ...(payload === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': payload.length }),
    };
    const isHttps = url.protocol === 'https:';
    if (!isHttps) delete opts.agent;
    const what = `${method} ${this.server}${path}`;
    return new Promise<KubeResponse>((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, { ...opts, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_KUBE_RESPONSE_BYTES) {
            req.destroy(
              new KubeCaError(
                'KUBE_API_FAILED',
                `${what}: answer larger than ${MAX_KUBE_RESPONSE_BYTES} bytes`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => req.destroy(err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              // Kubernetes answers errors as Status JSON; anything else is kept as text for messages.
              parsed = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(
          new KubeCaError('KUBE_API_UNAVAILABLE', `${what}: no answer within ${this.timeoutMs} ms`),
        ),
      );
      req.on('error', (err) =>
        reject(
          err instanceof KubeCaError
            ? err
            : new KubeCaError('KUBE_API_UNAVAILABLE', `${what}: ${err.message}`, { cause: err }),
        ),
      );
      req.end(payload);
    });
  }
}

/** The message of a Kubernetes Status body, or the HTTP status when there is none. */
export function statusMessage(res: KubeResponse): string {
  const b = res.body;
  if (b !== null && typeof b === 'object' && typeof (b as { message?: unknown }).message === 'string') {
    return `HTTP ${res.status}: ${(b as { message: string }).message}`;
  }
  return `HTTP ${res.status}`;
}

/** Throws KUBE_API_FAILED (or KUBE_API_UNAVAILABLE for 5xx/429) for a status outside `ok`. */
export function expectStatus(res: KubeResponse, what: string, ok: readonly number[]): KubeResponse {
  if (ok.includes(res.status)) return res;
  const code = res.status >= 500 || res.status === 429 ? 'KUBE_API_UNAVAILABLE' : 'KUBE_API_FAILED';
  throw new KubeCaError(code, `${what}: ${statusMessage(res)}`);
}

/** Narrows an unknown JSON value to a plain object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
