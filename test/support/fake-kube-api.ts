/**
 * A FAKE Kubernetes API server for tests: there is no real API server on the
 * test machines, so this in-test HTTP server on 127.0.0.1 speaks enough of
 * the protocol for clients of it: discovery (`/api`, `/apis`,
 * `/apis/<group>`), list (`GET` a collection, with the list's
 * resourceVersion; items carry no kind/apiVersion, as the real server sends
 * them), watch (`?watch=1`: newline-delimited ADDED/MODIFIED/DELETED/
 * BOOKMARK/ERROR events, replayed from a resourceVersion, `timeoutSeconds`,
 * bookmarks only for watches that asked), get/create/update/delete of
 * single objects, and bearer-token authentication.
 *
 * Tests drive it: change objects (events go to open watches), store
 * anything as-is (malformed objects), send raw lines, send bookmarks,
 * expire watches (an ERROR event with a 410 Status, then every older
 * resourceVersion is too old), close them, fail the next requests, pause
 * and resume the listener (connection refused in between), and count the
 * requests made. Extra endpoints (TokenReview, ...) are registered by
 * method and path with `handle()`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FakeResource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const core = (kind: string, plural: string, namespaced = true): FakeResource => ({ group: '', version: 'v1', kind, plural, namespaced });
const istio = (group: string, versions: readonly string[], kind: string, plural: string): FakeResource[] =>
  versions.map((version) => ({ group, version, kind, plural, namespaced: true }));

/** The core kinds, EndpointSlices and the Istio CRDs (networking v1/v1beta1/v1alpha3, security v1/v1beta1). */
export const DEFAULT_FAKE_RESOURCES: readonly FakeResource[] = [
  core('Namespace', 'namespaces', false),
  core('Pod', 'pods'),
  core('Service', 'services'),
  core('ServiceAccount', 'serviceaccounts'),
  core('Secret', 'secrets'),
  core('ConfigMap', 'configmaps'),
  core('Node', 'nodes', false),
  { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true },
  ...['WorkloadEntry:workloadentries', 'ServiceEntry:serviceentries', 'VirtualService:virtualservices', 'DestinationRule:destinationrules', 'Gateway:gateways'].flatMap(
    (kp) => {
      const [kind, plural] = kp.split(':') as [string, string];
      return istio('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], kind, plural);
    },
  ),
  ...istio('security.istio.io', ['v1', 'v1beta1'], 'AuthorizationPolicy', 'authorizationpolicies'),
  ...istio('security.istio.io', ['v1', 'v1beta1'], 'PeerAuthentication', 'peerauthentications'),
];

export type KubeObject = Record<string, unknown> & {
  metadata?: Record<string, unknown>;
};

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly watch: boolean;
  readonly authorization: string | undefined;
}

export interface HandlerContext {
  readonly url: URL;
  readonly body: Buffer;
  /** Writes a JSON answer. */
  json(status: number, body: unknown): void;
}
export type ExtraHandler = (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext) => void | Promise<void>;

export interface FakeKubeApiOptions {
  readonly resources?: readonly FakeResource[];
  /** The bearer token every request must carry; a random one when absent, `null` for none. */
  readonly token?: string | null;
  /** First resourceVersion handed out. */
  readonly initialResourceVersion?: number;
  /** Serve HTTPS with this certificate (`caPem` is what the written kubeconfig trusts). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
}

interface EventRecord {
  readonly rv: number;
  readonly gk: string;
  readonly namespace: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

interface Watcher {
  readonly gk: string;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout | undefined;
}

/** `group/Kind`, the identity of a kind across versions. */
function gkOf(r: { group: string; kind: string }): string {
  return `${r.group}/${r.kind}`;
}
function apiVersionOf(r: FakeResource): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}
function meta(o: KubeObject): Record<string, unknown> {
  if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
  return o.metadata;
}
function nsName(o: KubeObject): { namespace: string; name: string } {
  const m = meta(o);
  return { namespace: typeof m['namespace'] === 'string' ? m['namespace'] : '', name: typeof m['name'] === 'string' ? m['name'] : '' };
}
function clone<T>(v: T): T {
  return structuredClone(v);
}

export function kubeStatus(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  readonly token: string | null;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly resources: FakeResource[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly log: EventRecord[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly handlers: { method: string; path: string | RegExp; handler: ExtraHandler }[] = [];
  private failures: { count: number; status: number; match: ((r: RecordedRequest) => boolean) | undefined } | undefined;
  private rv: number;
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedRv = 0;
  private listenPort = 0;
  private readonly tls: FakeKubeApiOptions['tls'];

  private constructor(options: FakeKubeApiOptions) {
    this.tls = options.tls;
    this.token = options.token === undefined ? `fake-${randomBytes(12).toString('hex')}` : options.token;
    this.rv = options.initialResourceVersion ?? 1000;
    for (const r of options.resources ?? DEFAULT_FAKE_RESOURCES) this.addResource(r);
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      this.serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.json(res, 500, kubeStatus(500, 'InternalError', String(err)));
        else res.destroy();
      });
    };
    this.server =
      this.tls === undefined ? createServer(listener) : createTlsServer({ cert: this.tls.certPem, key: this.tls.keyPem }, listener);
    this.server.on(this.tls === undefined ? 'connection' : 'secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options);
    await api.listen(0);
    return api;
  }

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `${this.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.listenPort}`;
  }

  /** The current (latest handed out) resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Serves one more kind at one more version. */
  addResource(r: FakeResource): void {
    this.resources.push(r);
    if (!this.objects.has(gkOf(r))) this.objects.set(gkOf(r), new Map());
  }

  /** Registers an endpoint ahead of the built-in ones (exact path or pattern). */
  handle(method: string, path: string | RegExp, handler: ExtraHandler): void {
    this.handlers.push({ method: method.toUpperCase(), path, handler });
  }

  /** Answers the next `count` requests (those `match` accepts) with `status` and a Status body. */
  failNext(count: number, status = 500, match?: (r: RecordedRequest) => boolean): void {
    this.failures = { count, status, match };
  }

  /** Requests received so far that match every given criterion. */
  countRequests(filter: { method?: string; path?: string; watch?: boolean } = {}): number {
    return this.requests.filter(
      (r) =>
        (filter.method === undefined || r.method === filter.method) &&
        (filter.path === undefined || r.path === filter.path) &&
        (filter.watch === undefined || r.watch === filter.watch),
    ).length;
  }

  // ---------- objects ----------

  /** Adds or replaces an object (by kind, namespace, name); open watches get ADDED or MODIFIED. */
  apply(object: KubeObject): KubeObject {
    const r = this.resourceFor(object);
    const { namespace, name } = nsName(object);
    const existing = this.objects.get(gkOf(r))?.get(`${namespace}/${name}`);
    return this.store(r, object, existing === undefined ? 'ADDED' : 'MODIFIED', existing);
  }

  /** Stores an object exactly as given apart from its resourceVersion (malformed content included). */
  applyRaw(kind: string, object: KubeObject, group?: string): KubeObject {
    const r = this.resourceByKind(kind, group);
    const { namespace, name } = nsName(object);
    const existing = this.objects.get(gkOf(r))?.get(`${namespace}/${name}`);
    const stored = clone(object);
    meta(stored)['resourceVersion'] = String(++this.rv);
    this.objects.get(gkOf(r))!.set(`${namespace}/${name}`, stored);
    this.record(r, existing === undefined ? 'ADDED' : 'MODIFIED', stored);
    return clone(stored);
  }

  /** Deletes an object; open watches get DELETED. Returns whether it existed. */
  delete(kind: string, namespace: string, name: string, group?: string): boolean {
    const r = this.resourceByKind(kind, group);
    const m = this.objects.get(gkOf(r))!;
    const existing = m.get(`${namespace}/${name}`);
    if (existing === undefined) return false;
    m.delete(`${namespace}/${name}`);
    const gone = clone(existing);
    meta(gone)['resourceVersion'] = String(++this.rv);
    this.record(r, 'DELETED', gone);
    return true;
  }

  get(kind: string, namespace: string, name: string, group?: string): KubeObject | undefined {
    const o = this.objects.get(gkOf(this.resourceByKind(kind, group)))?.get(`${namespace}/${name}`);
    return o === undefined ? undefined : clone(o);
  }

  list(kind: string, group?: string): KubeObject[] {
    return [...(this.objects.get(gkOf(this.resourceByKind(kind, group)))?.values() ?? [])].map(clone);
  }

  // ---------- watches ----------

  /** Open watch streams (of one kind, or all). */
  openWatches(kind?: string): number {
    return [...this.watchers].filter((w) => kind === undefined || w.gk.endsWith(`/${kind}`)).length;
  }

  /** Waits until at least `n` watches of `kind` are open. */
  async waitForWatches(kind: string, n = 1, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.openWatches(kind) < n) {
      if (Date.now() > deadline) throw new Error(`fake kube api: fewer than ${n} ${kind} watches open after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends a BOOKMARK at a new resourceVersion to the watches that asked for bookmarks; returns that version. */
  bookmark(kind?: string): string {
    const rv = String(++this.rv);
    for (const w of this.watchers) {
      if (!w.bookmarks || (kind !== undefined && !w.gk.endsWith(`/${kind}`))) continue;
      const [group, k] = w.gk.split('/') as [string, string];
      this.send(w, 'BOOKMARK', { kind: k, apiVersion: group === '' ? w.version : `${group}/${w.version}`, metadata: { resourceVersion: rv } });
    }
    return rv;
  }

  /**
   * Expires watches as etcd compaction does: every resourceVersion up to now
   * becomes too old, and open watches (of a kind, or all) get an ERROR event
   * with a 410 Status and are closed.
   */
  expireWatches(kind?: string): void {
    // Versions older than the current one are gone; a watch from the current one misses nothing.
    this.compactedRv = this.rv;
    for (const w of [...this.watchers]) {
      if (kind !== undefined && !w.gk.endsWith(`/${kind}`)) continue;
      this.send(w, 'ERROR', kubeStatus(410, 'Expired', `too old resource version: ${this.rv}`));
      this.endWatch(w);
    }
  }

  /** Ends open watches cleanly, as the server does when `timeoutSeconds` runs out. */
  closeWatches(kind?: string): void {
    for (const w of [...this.watchers]) if (kind === undefined || w.gk.endsWith(`/${kind}`)) this.endWatch(w);
  }

  /** Writes a raw line (anything, malformed included) to the open watches of a kind. */
  sendRawLine(kind: string, line: string): void {
    for (const w of this.watchers) if (w.gk.endsWith(`/${kind}`)) w.res.write(`${line}\n`);
  }

  // ---------- lifecycle ----------

  /** Stops listening and drops every connection (clients see refused/reset connections) until `resume()`. */
  async pause(): Promise<void> {
    for (const w of [...this.watchers]) {
      if (w.timer) clearTimeout(w.timer);
      this.watchers.delete(w);
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    await this.listen(this.listenPort);
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.pause();
  }

  /**
   * Writes a kubeconfig for this server and returns its path: plain HTTP
   * with TLS verification off, or HTTPS trusting `caPem` (the server's CA
   * unless another is given, to test refusal). `token` overrides the user's.
   */
  async writeKubeconfig(dir: string, options: { fileName?: string; caPem?: string; token?: string | null } = {}): Promise<string> {
    const path = join(dir, options.fileName ?? 'kubeconfig');
    const token = options.token === undefined ? this.token : options.token;
    const user = token === null ? '{}' : `{token: ${JSON.stringify(token)}}`;
    const caPem = options.caPem ?? this.tls?.caPem;
    const cluster =
      this.tls === undefined
        ? `{server: ${JSON.stringify(this.url)}, insecure-skip-tls-verify: true}`
        : `{server: ${JSON.stringify(this.url)}, certificate-authority-data: ${Buffer.from(caPem ?? '').toString('base64')}}`;
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `  - name: fake\n    cluster: ${cluster}`,
        'users:',
        `  - name: fake\n    user: ${user}`,
        'contexts:',
        '  - name: fake\n    context: {cluster: fake, user: fake}',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  // ---------- internals ----------

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.listenPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private resourceFor(object: KubeObject): FakeResource {
    const apiVersion = typeof object['apiVersion'] === 'string' ? object['apiVersion'] : '';
    const kind = typeof object['kind'] === 'string' ? object['kind'] : '';
    const r = this.resources.find((x) => x.kind === kind && apiVersionOf(x) === apiVersion);
    if (r === undefined) throw new Error(`fake kube api: no resource ${apiVersion} ${kind}`);
    return r;
  }

  private resourceByKind(kind: string, group?: string): FakeResource {
    const r = this.resources.find((x) => x.kind === kind && (group === undefined || x.group === group));
    if (r === undefined) throw new Error(`fake kube api: no resource of kind ${kind}`);
    return r;
  }

  private store(r: FakeResource, object: KubeObject, type: 'ADDED' | 'MODIFIED', existing: KubeObject | undefined): KubeObject {
    const stored = clone(object);
    const m = meta(stored);
    if (r.namespaced && (typeof m['namespace'] !== 'string' || m['namespace'] === '')) m['namespace'] = 'default';
    m['uid'] ??= existing !== undefined ? meta(existing)['uid'] : randomUUID();
    m['creationTimestamp'] ??= existing !== undefined ? meta(existing)['creationTimestamp'] : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    m['resourceVersion'] = String(++this.rv);
    const { namespace, name } = nsName(stored);
    this.objects.get(gkOf(r))!.set(`${namespace}/${name}`, stored);
    this.record(r, type, stored);
    return clone(stored);
  }

  private record(r: FakeResource, type: EventRecord['type'], object: KubeObject): void {
    const ev: EventRecord = { rv: this.rv, gk: gkOf(r), namespace: nsName(object).namespace, type, object: clone(object) };
    this.log.push(ev);
    for (const w of this.watchers) if (this.watches(w, ev)) this.send(w, ev.type, ev.object);
  }

  private watches(w: Watcher, ev: EventRecord): boolean {
    return w.gk === ev.gk && (w.namespace === undefined || w.namespace === ev.namespace);
  }

  private send(w: Watcher, type: string, object: KubeObject): void {
    const out = type === 'ERROR' || type === 'BOOKMARK' ? object : this.atVersion(object, w.gk, w.version);
    w.res.write(`${JSON.stringify({ type, object: out })}\n`);
  }

  /** The object as served at a version (conversion "None": only apiVersion changes). */
  private atVersion(object: KubeObject, gk: string, version: string): KubeObject {
    const group = gk.slice(0, gk.indexOf('/'));
    return { ...clone(object), apiVersion: group === '' ? version : `${group}/${version}` };
  }

  private endWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
    w.res.end();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const watch = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
    const recorded: RecordedRequest = { method, path: url.pathname, query: url.searchParams, watch, authorization: req.headers.authorization };
    this.requests.push(recorded);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);

    if (this.token !== null && req.headers.authorization !== `Bearer ${this.token}`) {
      this.json(res, 401, kubeStatus(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (this.failures !== undefined && this.failures.count > 0 && (this.failures.match?.(recorded) ?? true)) {
      this.failures.count--;
      this.json(res, this.failures.status, kubeStatus(this.failures.status, 'InternalError', 'injected failure'));
      return;
    }
    const ctx: HandlerContext = { url, body, json: (status, b) => this.json(res, status, b) };
    for (const h of this.handlers) {
      if (h.method !== method) continue;
      if (typeof h.path === 'string' ? h.path === url.pathname : h.path.test(url.pathname)) {
        await h.handler(req, res, ctx);
        return;
      }
    }
    if (method === 'GET' && this.discovery(url.pathname, res)) return;
    const target = this.route(url.pathname);
    if (target === undefined) {
      this.json(res, 404, kubeStatus(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`));
      return;
    }
    const { resource: r, namespace, name } = target;
    if (name === undefined && method === 'GET' && watch) this.startWatch(r, namespace, url.searchParams, res);
    else if (name === undefined && method === 'GET') this.serveList(r, namespace, res);
    else if (name === undefined && method === 'POST') this.write(r, namespace, undefined, body, 'create', res);
    else if (name !== undefined && method === 'GET') {
      const o = this.objects.get(gkOf(r))?.get(`${namespace ?? ''}/${name}`);
      if (o === undefined) this.json(res, 404, kubeStatus(404, 'NotFound', `${r.plural} "${name}" not found`));
      else this.json(res, 200, this.atVersion(o, gkOf(r), r.version));
    } else if (name !== undefined && method === 'PUT') this.write(r, namespace, name, body, 'update', res);
    else if (name !== undefined && method === 'DELETE') {
      if (this.delete(r.kind, namespace ?? '', name, r.group)) this.json(res, 200, kubeStatus(200, '', 'deleted'));
      else this.json(res, 404, kubeStatus(404, 'NotFound', `${r.plural} "${name}" not found`));
    } else this.json(res, 405, kubeStatus(405, 'MethodNotAllowed', `${method} not allowed`));
  }

  private write(r: FakeResource, namespace: string | undefined, name: string | undefined, body: Buffer, op: 'create' | 'update', res: ServerResponse): void {
    let object: KubeObject;
    try {
      object = JSON.parse(body.toString('utf8')) as KubeObject;
    } catch {
      this.json(res, 400, kubeStatus(400, 'BadRequest', 'the body is not JSON'));
      return;
    }
    const m = meta(object);
    if (namespace !== undefined) m['namespace'] = namespace;
    if (name !== undefined) m['name'] = name;
    object['apiVersion'] = apiVersionOf(r);
    object['kind'] = r.kind;
    const id = nsName(object);
    const existing = this.objects.get(gkOf(r))?.get(`${id.namespace}/${id.name}`);
    if (op === 'create' && existing !== undefined) {
      this.json(res, 409, kubeStatus(409, 'AlreadyExists', `${r.plural} "${id.name}" already exists`));
      return;
    }
    if (op === 'update' && existing === undefined) {
      this.json(res, 404, kubeStatus(404, 'NotFound', `${r.plural} "${id.name}" not found`));
      return;
    }
    const stored = this.store(r, object, op === 'create' ? 'ADDED' : 'MODIFIED', existing);
    this.json(res, op === 'create' ? 201 : 200, this.atVersion(stored, gkOf(r), r.version));
  }

  private serveList(r: FakeResource, namespace: string | undefined, res: ServerResponse): void {
    const items = [...(this.objects.get(gkOf(r))?.values() ?? [])]
      .filter((o) => namespace === undefined || nsName(o).namespace === namespace)
      .map((o) => {
        const { kind: _k, apiVersion: _a, ...rest } = clone(o);
        return rest;
      });
    this.json(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.rv) }, items });
  }

  private startWatch(r: FakeResource, namespace: string | undefined, q: URLSearchParams, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const fromParam = q.get('resourceVersion') ?? '';
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    const timer = timeoutSeconds > 0 ? setTimeout(() => this.endWatch(w), timeoutSeconds * 1000) : undefined;
    const w: Watcher = {
      gk: gkOf(r),
      version: r.version,
      namespace,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      res,
      timer,
    };
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.watchers.delete(w);
    });
    if (fromParam === '' || fromParam === '0') {
      // No version: the current state as ADDED events, then changes.
      for (const o of this.objects.get(gkOf(r))?.values() ?? []) {
        if (namespace === undefined || nsName(o).namespace === namespace) this.send(w, 'ADDED', o);
      }
    } else {
      const from = Number(fromParam);
      if (!Number.isInteger(from) || from < this.compactedRv) {
        this.send(w, 'ERROR', kubeStatus(410, 'Expired', `too old resource version: ${fromParam} (${this.compactedRv})`));
        res.end();
        return;
      }
      for (const ev of this.log) if (ev.rv > from && this.watches(w, ev)) this.send(w, ev.type, ev.object);
    }
    this.watchers.add(w);
  }

  /** Answers discovery paths; returns false when the path is not one. */
  private discovery(path: string, res: ServerResponse): boolean {
    const groups = [...new Set(this.resources.filter((r) => r.group !== '').map((r) => r.group))];
    const groupDoc = (g: string): Record<string, unknown> => {
      const versions = [...new Set(this.resources.filter((r) => r.group === g).map((r) => r.version))].map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
      return { kind: 'APIGroup', apiVersion: 'v1', name: g, versions, preferredVersion: versions[0] };
    };
    const resourceList = (group: string, version: string): Record<string, unknown> => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group === '' ? version : `${group}/${version}`,
      resources: this.resources
        .filter((r) => r.group === group && r.version === version)
        .map((r) => ({ name: r.plural, namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] })),
    });
    if (path === '/api') {
      this.json(res, 200, { kind: 'APIVersions', versions: ['v1'] });
      return true;
    }
    if (path === '/apis') {
      this.json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc) });
      return true;
    }
    if (path === '/api/v1') {
      this.json(res, 200, resourceList('', 'v1'));
      return true;
    }
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?\/?$/.exec(path);
    if (m === null) return false;
    const [, group, version] = m as unknown as [string, string, string | undefined];
    const served = this.resources.some((r) => r.group === group && (version === undefined || r.version === version));
    if (!served) {
      this.json(res, 404, kubeStatus(404, 'NotFound', `the server could not find the requested resource (${path})`));
      return true;
    }
    this.json(res, 200, version === undefined ? groupDoc(group) : resourceList(group, version));
    return true;
  }

  /** Maps a REST path to a resource, optional namespace and optional name. */
  private route(path: string): { resource: FakeResource; namespace: string | undefined; name: string | undefined } | undefined {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(path);
    if (m === null) return undefined;
    const group = m[2] ?? '';
    const version = m[1] ?? m[3] ?? '';
    const parts = (m[4] ?? '').split('/').filter((p) => p !== '').map(decodeURIComponent);
    const find = (plural: string): FakeResource | undefined =>
      this.resources.find((r) => r.group === group && r.version === version && r.plural === plural);
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      const r = find(parts[2]!);
      if (r === undefined || !r.namespaced || parts.length > 4) return undefined;
      return { resource: r, namespace: parts[1], name: parts[3] };
    }
    const r = find(parts[0] ?? '');
    if (r === undefined || parts.length > 2) return undefined;
    return { resource: r, namespace: undefined, name: parts[1] };
  }
}
