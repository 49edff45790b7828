/**
 * Publishes the mesh root bundle to every namespace as the ConfigMap
 * `istio-ca-root-cert` (key `root-cert.pem`), where workloads and agents
 * read the trust anchors, as istiod's namespace controller does. The
 * ConfigMaps it writes carry the label `istio.io/config: "true"`; a
 * ConfigMap of that name without the label belongs to someone else and is
 * left alone. Namespaces are found by listing them, at start and then
 * periodically; `syncNamespace` lets a watcher push a new one at once.
 */
import type { Logger } from '../../../shared/logging.js';
import { KubeCaError } from './errors.js';
import { asRecord, expectStatus, statusMessage, type KubeRestClient } from './rest-client.js';

export const ROOT_CERT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_CERT_CONFIGMAP_KEY = 'root-cert.pem';
/** The label marking the ConfigMaps istiod owns. */
export const OWNED_LABEL_KEY = 'istio.io/config';
export const OWNED_LABEL_VALUE = 'true';
/** Namespaces istiod never writes to (Istio's ignored system namespaces). */
export const IGNORED_NAMESPACES: readonly string[] = [
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'local-path-storage',
];
/** How often every namespace is listed and checked again. */
export const DEFAULT_ROOT_CONFIGMAP_RESYNC_MS = 30_000;
/** Namespaces per list page. */
const LIST_PAGE_LIMIT = 500;
/** Pages per sync: a bound on one pass (500 × 200 = 100 000 namespaces). */
const MAX_LIST_PAGES = 200;

export type PublishOutcome = 'created' | 'updated' | 'unchanged' | 'not-owned' | 'skipped';

export interface RootCertPublisherOptions {
  readonly client: KubeRestClient;
  /** The root bundle (PEM) to publish. */
  readonly rootPem: string;
  readonly resyncIntervalMs?: number;
  readonly ignoredNamespaces?: readonly string[];
  readonly logger: Logger;
}

function configMapPath(namespace: string, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

export class RootCertPublisher {
  private readonly client: KubeRestClient;
  private readonly rootPem: string;
  private readonly resyncIntervalMs: number;
  private readonly ignored: ReadonlySet<string>;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Namespaces announced by a watcher, published one at a time (a burst cannot flood the API server). */
  private readonly queued = new Set<string>();
  private draining: Promise<void> | undefined;
  /** Completed passes over all namespaces (for tests and debugging). */
  syncs = 0;

  constructor(options: RootCertPublisherOptions) {
    this.client = options.client;
    this.rootPem = options.rootPem;
    this.resyncIntervalMs = options.resyncIntervalMs ?? DEFAULT_ROOT_CONFIGMAP_RESYNC_MS;
    this.ignored = new Set(options.ignoredNamespaces ?? IGNORED_NAMESPACES);
    this.log = options.logger.child({ component: 'ca-root-publisher' });
  }

  /** Publishes to every namespace once (failing start-up if the API refuses), then keeps doing so periodically. */
  async start(): Promise<void> {
    await this.syncAll();
    if (this.stopped) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return; // one pass at a time
      this.running = this.syncAll()
        .catch((err: unknown) => this.log.warn({ err }, 'root cert publication failed; retrying later'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.resyncIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.queued.clear();
    await this.running;
    await this.draining;
  }

  /** Publishes to a namespace soon (e.g. one a watcher just saw created), without waiting for the next pass. */
  enqueue(namespace: string): void {
    if (this.stopped) return;
    this.queued.add(namespace);
    if (this.draining !== undefined) return;
    this.draining = (async () => {
      for (const ns of this.queued) {
        this.queued.delete(ns);
        if (this.stopped) break;
        try {
          await this.syncNamespace(ns);
        } catch (err) {
          this.log.warn({ namespace: ns, err }, 'root cert configmap not published; the next pass retries');
        }
      }
    })().finally(() => {
      this.draining = undefined;
    });
  }

  /**
   * One pass: lists the namespaces and the ConfigMaps istiod owns (two
   * paged lists, whatever the cluster's size), then writes only where one
   * is missing or stale.
   */
  async syncAll(): Promise<void> {
    const namespaces = await this.listNamespaces();
    const owned = await this.listOwnedConfigMaps();
    const outcomes: Partial<Record<PublishOutcome, number>> = {};
    let failures = 0;
    for (const ns of namespaces) {
      if (this.stopped) return;
      try {
        const o = await this.reconcile(ns, owned.get(ns));
        outcomes[o] = (outcomes[o] ?? 0) + 1;
      } catch (err) {
        failures++;
        this.log.warn({ namespace: ns, err }, 'root cert configmap not published');
      }
    }
    this.syncs++;
    if ((outcomes.created ?? 0) + (outcomes.updated ?? 0) + failures > 0) {
      this.log.info(
        { namespaces: namespaces.length, ...outcomes, failures },
        'root cert configmaps published',
      );
    }
  }

  /** Active namespaces (terminating ones are skipped: they refuse new objects). */
  async listNamespaces(): Promise<string[]> {
    const names: string[] = [];
    for (const item of await this.listAll('/api/v1/namespaces', '', 'namespaces')) {
      const name = asRecord(item['metadata'])?.['name'];
      const phase = asRecord(item['status'])?.['phase'];
      if (typeof name === 'string' && name !== '' && phase !== 'Terminating') names.push(name);
    }
    return names;
  }

  /** The root ConfigMaps carrying istiod's label, by namespace (selectors applied again here). */
  private async listOwnedConfigMaps(): Promise<Map<string, Record<string, unknown>>> {
    const selectors =
      `labelSelector=${encodeURIComponent(`${OWNED_LABEL_KEY}=${OWNED_LABEL_VALUE}`)}` +
      `&fieldSelector=${encodeURIComponent(`metadata.name=${ROOT_CERT_CONFIGMAP}`)}`;
    const byNamespace = new Map<string, Record<string, unknown>>();
    for (const item of await this.listAll('/api/v1/configmaps', selectors, 'root cert configmaps')) {
      const meta = asRecord(item['metadata']);
      const ns = meta?.['namespace'];
      if (typeof ns !== 'string' || meta?.['name'] !== ROOT_CERT_CONFIGMAP) continue;
      if (asRecord(meta['labels'])?.[OWNED_LABEL_KEY] !== OWNED_LABEL_VALUE) continue;
      byNamespace.set(ns, item);
    }
    return byNamespace;
  }

  /** Every item of a collection, page by page, at most MAX_LIST_PAGES pages. */
  private async listAll(path: string, query: string, what: string): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let cont = '';
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const q = [query, `limit=${LIST_PAGE_LIMIT}`, cont === '' ? '' : `continue=${encodeURIComponent(cont)}`]
        .filter((p) => p !== '')
        .join('&');
      const res = expectStatus(await this.client.request('GET', `${path}?${q}`), `listing ${what}`, [200]);
      const body = asRecord(res.body);
      const items = body?.['items'];
      if (!Array.isArray(items))
        throw new KubeCaError('KUBE_API_FAILED', `listing ${what}: answer has no items`);
      for (const item of items) {
        const r = asRecord(item);
        if (r !== undefined) out.push(r);
      }
      const next = asRecord(body?.['metadata'])?.['continue'];
      if (typeof next !== 'string' || next === '') return out;
      cont = next;
    }
    this.log.warn({ what, pages: MAX_LIST_PAGES }, 'list truncated');
    return out;
  }

  /** Brings one namespace in line given its owned ConfigMap from the list (undefined = none listed). */
  private async reconcile(
    namespace: string,
    owned: Record<string, unknown> | undefined,
  ): Promise<PublishOutcome> {
    if (this.ignored.has(namespace)) return 'skipped';
    if (owned === undefined) {
      const res = await this.client.request('POST', configMapPath(namespace), this.desired(namespace));
      // 409: one exists after all (someone else's, or just created): decide on what is there.
      if (res.status === 409) return this.syncNamespace(namespace);
      expectStatus(res, `creating ConfigMap ${namespace}/${ROOT_CERT_CONFIGMAP}`, [200, 201]);
      return 'created';
    }
    if (asRecord(owned['data'])?.[ROOT_CERT_CONFIGMAP_KEY] === this.rootPem) return 'unchanged';
    return this.update(namespace, owned);
  }

  /** Creates or updates the root ConfigMap of one namespace; leaves one it does not own alone. */
  async syncNamespace(namespace: string): Promise<PublishOutcome> {
    if (this.ignored.has(namespace)) return 'skipped';
    const where = `ConfigMap ${namespace}/${ROOT_CERT_CONFIGMAP}`;
    const current = expectStatus(
      await this.client.request('GET', configMapPath(namespace, ROOT_CERT_CONFIGMAP)),
      `reading ${where}`,
      [200, 404],
    );
    if (current.status === 404) {
      const res = await this.client.request('POST', configMapPath(namespace), this.desired(namespace));
      // 409: created meanwhile (another replica); the next pass checks its content.
      if (res.status === 409) return 'unchanged';
      expectStatus(res, `creating ${where}`, [200, 201]);
      return 'created';
    }
    const cm = asRecord(current.body);
    const meta = asRecord(cm?.['metadata']);
    const labels = asRecord(meta?.['labels']);
    if (labels?.[OWNED_LABEL_KEY] !== OWNED_LABEL_VALUE) {
      this.log.warn(
        { namespace, configMap: ROOT_CERT_CONFIGMAP },
        'configmap not owned by istiod; left alone',
      );
      return 'not-owned';
    }
    if (asRecord(cm?.['data'])?.[ROOT_CERT_CONFIGMAP_KEY] === this.rootPem) return 'unchanged';
    return this.update(namespace, cm ?? {});
  }

  /** Replaces an owned ConfigMap's root, keeping its other labels; a conflict waits for the next pass. */
  private async update(namespace: string, current: Record<string, unknown>): Promise<PublishOutcome> {
    const meta = asRecord(current['metadata']);
    const labels = asRecord(meta?.['labels']) ?? {};
    const desired = this.desired(namespace);
    const resourceVersion = meta?.['resourceVersion'];
    const res = await this.client.request('PUT', configMapPath(namespace, ROOT_CERT_CONFIGMAP), {
      ...desired,
      metadata: {
        ...desired.metadata,
        labels: { ...(labels as Record<string, string>), ...desired.metadata.labels },
        ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
      },
    });
    if (res.status === 409) {
      this.log.debug(
        { namespace, detail: statusMessage(res) },
        'configmap changed meanwhile; next pass retries',
      );
      return 'unchanged';
    }
    expectStatus(res, `updating ConfigMap ${namespace}/${ROOT_CERT_CONFIGMAP}`, [200]);
    return 'updated';
  }

  private desired(namespace: string): {
    apiVersion: 'v1';
    kind: 'ConfigMap';
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    data: Record<string, string>;
  } {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: ROOT_CERT_CONFIGMAP, namespace, labels: { [OWNED_LABEL_KEY]: OWNED_LABEL_VALUE } },
      data: { [ROOT_CERT_CONFIGMAP_KEY]: this.rootPem },
    };
  }
}
