/**
 * A fake Kubernetes API server for the CA's tests (there is no real API
 * server on the test machine): plain HTTP on 127.0.0.1 speaking just enough
 * of the API for istiod's security pieces — TokenReview with audiences and
 * pod-bound service-account tokens, Pods, Secrets and ConfigMaps (get,
 * create with 409 on conflict, update with resourceVersion checks) and the
 * namespace list. It records every request, so tests can count API calls.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeCredentials } from '../../src/istiod/ca/kubernetes/index.js';

/** What the fake's TokenReview knows about a token. */
export interface FakeToken {
  /** e.g. system:serviceaccount:istio-system:ztunnel */
  readonly username: string;
  readonly audiences: readonly string[];
  readonly podName?: string;
  readonly podUid?: string;
}

export interface FakePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly serviceAccountName: string;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
}

function meta(o: unknown): Record<string, unknown> {
  const m = (o as { metadata?: unknown } | null)?.metadata;
  return m !== null && typeof m === 'object' ? (m as Record<string, unknown>) : {};
}

export class FakeKubeAuthApi {
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;
  private readonly tokens = new Map<string, FakeToken>();
  private readonly pods = new Map<string, FakePod>();
  /** Secrets and ConfigMaps by `<plural>/<ns>/<name>`. */
  private readonly objects = new Map<string, Obj>();
  private readonly namespaces = new Map<string, string>(); // name -> phase
  private resourceVersion = 1;
  private port = 0;
  /** When set, every API request answers this status (e.g. 503 for an overloaded server). */
  failWith: number | undefined;

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(): Promise<FakeKubeAuthApi> {
    const api = new FakeKubeAuthApi();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.port = (api.server.address() as AddressInfo).port;
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and cuts open connections: afterwards the "API server is down". */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Credentials pointing at this fake (istiod's own static token), shaped like a KubeConfig. */
  kubeConfig(): KubeCredentials {
    const server = this.url;
    return {
      getCurrentCluster: () => ({ server }),
      applyToHTTPSOptions: (opts) => {
        opts.headers = { ...opts.headers, authorization: 'Bearer istiod-own-token' };
        return Promise.resolve();
      },
    };
  }

  addToken(token: string, info: FakeToken): void {
    this.tokens.set(token, info);
  }

  addPod(pod: FakePod): void {
    this.pods.set(`${pod.namespace}/${pod.name}`, pod);
  }

  deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  addNamespace(name: string, phase = 'Active'): void {
    this.namespaces.set(name, phase);
  }

  /** Stores a Secret or ConfigMap as if created by someone else. */
  put(plural: 'secrets' | 'configmaps', object: Obj): void {
    const m = object.metadata;
    const stored = { ...object, metadata: { ...m, resourceVersion: String(this.resourceVersion++) } };
    this.objects.set(`${plural}/${String(m['namespace'])}/${String(m['name'])}`, stored);
  }

  get(plural: 'secrets' | 'configmaps', namespace: string, name: string): Obj | undefined {
    return this.objects.get(`${plural}/${namespace}/${name}`);
  }

  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.url);
      const method = req.method ?? 'GET';
      this.requests.push({ method, path: url.pathname });
      const send = (status: number, body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      const status = (code: number, reason: string, message: string): void =>
        send(code, { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message });
      if (this.failWith !== undefined) {
        status(this.failWith, 'ServiceUnavailable', 'the fake API server is told to fail');
        return;
      }
      if (req.headers.authorization !== 'Bearer istiod-own-token') {
        status(401, 'Unauthorized', 'Unauthorized');
        return;
      }
      let body: unknown;
      try {
        body = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        status(400, 'BadRequest', 'body is not JSON');
        return;
      }
      this.route(method, url, body, send, status);
    });
  }

  private route(
    method: string,
    url: URL,
    body: unknown,
    send: (status: number, body: unknown) => void,
    status: (code: number, reason: string, message: string) => void,
  ): void {
    const p = url.pathname;
    if (method === 'POST' && p === '/apis/authentication.k8s.io/v1/tokenreviews') {
      send(201, this.tokenReview(body));
      return;
    }
    if (method === 'GET' && p === '/api/v1/namespaces') {
      send(200, {
        apiVersion: 'v1',
        kind: 'NamespaceList',
        metadata: { resourceVersion: String(this.resourceVersion) },
        items: [...this.namespaces].map(([name, phase]) => ({ metadata: { name }, status: { phase } })),
      });
      return;
    }
    if (method === 'GET' && p === '/api/v1/configmaps') {
      send(200, {
        apiVersion: 'v1',
        kind: 'ConfigMapList',
        metadata: {},
        items: this.selectConfigMaps(url.searchParams),
      });
      return;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets|configmaps)(?:\/([^/]+))?$/.exec(p);
    if (m === null) {
      status(404, 'NotFound', `the fake has no route for ${method} ${p}`);
      return;
    }
    const ns = decodeURIComponent(m[1] as string);
    const plural = m[2] as 'pods' | 'secrets' | 'configmaps';
    const name = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
    if (plural === 'pods') {
      const pod = name === undefined ? undefined : this.pods.get(`${ns}/${name}`);
      if (method !== 'GET' || pod === undefined) {
        status(404, 'NotFound', `pods "${name ?? ''}" not found`);
        return;
      }
      send(200, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid },
        spec: { nodeName: pod.nodeName, serviceAccountName: pod.serviceAccountName },
      });
      return;
    }
    const key = (n: string): string => `${plural}/${ns}/${n}`;
    if (method === 'GET' && name !== undefined) {
      const o = this.objects.get(key(name));
      if (o === undefined) status(404, 'NotFound', `${plural} "${name}" not found`);
      else send(200, o);
      return;
    }
    if (method === 'POST' && name === undefined) {
      const n = String(meta(body)['name'] ?? '');
      if (this.objects.has(key(n))) {
        status(409, 'AlreadyExists', `${plural} "${n}" already exists`);
        return;
      }
      this.put(plural, { ...(body as Obj), metadata: { ...meta(body), namespace: ns } });
      send(201, this.objects.get(key(n)));
      return;
    }
    if (method === 'PUT' && name !== undefined) {
      const current = this.objects.get(key(name));
      if (current === undefined) {
        status(404, 'NotFound', `${plural} "${name}" not found`);
        return;
      }
      const rv = meta(body)['resourceVersion'];
      if (rv !== undefined && rv !== current.metadata['resourceVersion']) {
        status(
          409,
          'Conflict',
          `the object has been modified; please apply your changes to the latest version`,
        );
        return;
      }
      this.put(plural, { ...(body as Obj), metadata: { ...meta(body), namespace: ns, name } });
      send(200, this.objects.get(key(name)));
      return;
    }
    status(405, 'MethodNotAllowed', `${method} ${p} is not supported by the fake`);
  }

  /** All ConfigMaps matching `labelSelector` and `fieldSelector` of the form `k=v` (the only forms the fake knows). */
  private selectConfigMaps(query: URLSearchParams): Obj[] {
    const pair = (v: string | null): [string, string] | undefined => {
      if (v === null || v === '') return undefined;
      const i = v.indexOf('=');
      return [v.slice(0, i), v.slice(i + 1)];
    };
    const label = pair(query.get('labelSelector'));
    const field = pair(query.get('fieldSelector'));
    return [...this.objects]
      .filter(([k]) => k.startsWith('configmaps/'))
      .map(([, o]) => o)
      .filter((o) => {
        const labels = (o.metadata['labels'] ?? {}) as Record<string, string>;
        if (label !== undefined && labels[label[0]] !== label[1]) return false;
        if (field !== undefined && field[0] === 'metadata.name' && o.metadata['name'] !== field[1])
          return false;
        return true;
      });
  }

  /** The API server's TokenReview: unknown tokens and audience mismatches are unauthenticated. */
  private tokenReview(body: unknown): unknown {
    const spec = (body as { spec?: { token?: unknown; audiences?: unknown } } | null)?.spec ?? {};
    const wanted = Array.isArray(spec.audiences) ? (spec.audiences as string[]) : [];
    const info = typeof spec.token === 'string' ? this.tokens.get(spec.token) : undefined;
    const review = (status: Record<string, unknown>): unknown => ({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec,
      status,
    });
    if (info === undefined) return review({ authenticated: false, error: 'invalid bearer token' });
    const granted =
      wanted.length === 0 ? [...info.audiences] : info.audiences.filter((a) => wanted.includes(a));
    if (granted.length === 0) {
      return review({
        authenticated: false,
        error: `token audiences ${JSON.stringify(info.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}`,
      });
    }
    const extra: Record<string, string[]> = {};
    if (info.podName !== undefined) extra['authentication.kubernetes.io/pod-name'] = [info.podName];
    if (info.podUid !== undefined) extra['authentication.kubernetes.io/pod-uid'] = [info.podUid];
    const saNs = info.username.split(':')[2] ?? '';
    return review({
      authenticated: true,
      audiences: granted,
      user: {
        username: info.username,
        uid: `uid-${info.username}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${saNs}`, 'system:authenticated'],
        extra,
      },
    });
  }
}
