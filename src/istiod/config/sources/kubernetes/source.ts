/**
 * The Kubernetes config source (`ambit istiod --kubernetes`): one list/watch
 * reflector per watched resource, feeding the same ConfigStore as the
 * directory source. Every object goes through `validateDocument` with
 * origin `{ source: 'kubernetes' }`; an invalid one is reported (kind,
 * namespace, name, field paths; logged and counted) and, when it is an
 * update, the last good version stays in the store. Deletions, and objects
 * missing from a re-list, leave the store. EndpointSlices are kept beside
 * the store (see endpoint-slices.ts).
 *
 * The reflectors are this module's own rather than @kubernetes/client-node's
 * informer (ListWatch): its 2.x release cannot be imported on Node 20 (see
 * kubeconfig.ts), and its ListWatch does not ask for watch bookmarks, gives
 * up on any non-410 error until restarted by hand, retries on a fixed
 * schedule without jitter, and hands out list items without kind/apiVersion.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../../../shared/logging.js';
import { silentLogger } from '../../../../shared/logging.js';
import { errorMessage } from '../../../../shared/errors.js';
import type { ConfigStore } from '../../store.js';
import type { ConfigKind, ConfigOrigin, FieldError } from '../../types.js';
import { CONFIG_KINDS } from '../../types.js';
import { validateDocument } from '../../validation/index.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { KubeApiClient } from './client.js';
import { decodeEndpointSlice, type EndpointSlice } from './endpoint-slices.js';
import { KubeSourceError } from './errors.js';
import { KubeSourceMetrics } from './metrics.js';
import { Reflector, type RawObject, type ReflectorSink } from './reflector.js';
import { configKindOf, pickVersion, WATCHED_RESOURCE_SPECS, type ResourceSpec, type WatchedResource } from './resources.js';

/** The origin every object from the API server carries. */
export const KUBERNETES_ORIGIN: ConfigOrigin = Object.freeze({ source: 'kubernetes' });

/** An object the API server holds that the mesh rejected. */
export interface KubeConfigProblem {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion?: string;
  readonly errors: readonly FieldError[];
}

export interface KubernetesSourceOptions {
  readonly client: KubeApiClient;
  readonly logger?: Logger;
  /** Where the source's metrics are registered (a private registry when absent). */
  readonly registry?: Registry;
  readonly backoff?: BackoffOptions;
  /** Floor of the server-side watch timeout (see Reflector). */
  readonly minWatchTimeoutSeconds?: number;
  /** What to watch; every kind ambit supports by default. */
  readonly resources?: readonly ResourceSpec[];
  /** Called whenever the set of problems changes. */
  readonly onProblems?: (problems: readonly KubeConfigProblem[]) => void;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function identity(raw: RawObject): { namespace: string; name: string; resourceVersion?: string } {
  const md = isRecord(raw['metadata']) ? raw['metadata'] : {};
  const rv = md['resourceVersion'];
  return {
    namespace: typeof md['namespace'] === 'string' ? md['namespace'] : '',
    name: typeof md['name'] === 'string' ? md['name'] : '',
    ...(typeof rv === 'string' ? { resourceVersion: rv } : {}),
  };
}

/** Shared by the per-kind sinks: where problems are kept and reported. */
interface SinkContext {
  readonly store: ConfigStore;
  readonly log: Logger;
  readonly metrics: KubeSourceMetrics;
  problemsChanged(): void;
}

/** Keeps the problems of one kind, keyed by "<namespace>/<name>". */
class ProblemSet {
  readonly byKey = new Map<string, KubeConfigProblem>();

  constructor(
    private readonly kind: string,
    private readonly ctx: SinkContext,
  ) {}

  report(key: string, raw: RawObject, errors: readonly FieldError[]): void {
    const id = identity(raw);
    const previous = this.byKey.get(key);
    const problem: KubeConfigProblem = { kind: this.kind, ...id, errors };
    this.byKey.set(key, problem);
    // A re-list hands over the same rejected version again: it was reported already.
    if (previous !== undefined && previous.resourceVersion === problem.resourceVersion) return;
    this.ctx.metrics.invalidObject(this.kind);
    this.ctx.log.warn(
      { kind: this.kind, namespace: id.namespace, name: id.name, resourceVersion: id.resourceVersion, errors },
      'invalid object kept out; last good version stays',
    );
    this.ctx.problemsChanged();
  }

  clear(key: string): void {
    if (this.byKey.delete(key)) this.ctx.problemsChanged();
  }

  retain(keys: ReadonlySet<string>): void {
    let changed = false;
    for (const k of [...this.byKey.keys()]) {
      if (!keys.has(k)) changed = this.byKey.delete(k) || changed;
    }
    if (changed) this.ctx.problemsChanged();
  }
}

/** Validates objects of one ConfigKind into the store. */
class ConfigKindSink implements ReflectorSink {
  readonly problems: ProblemSet;

  constructor(
    private readonly kind: ConfigKind,
    private readonly ctx: SinkContext,
  ) {
    this.problems = new ProblemSet(kind, ctx);
  }

  replace(items: readonly RawObject[]): void {
    const seen = new Set<string>();
    this.ctx.store.batch(() => {
      for (const item of items) {
        const id = identity(item);
        seen.add(`${id.namespace}/${id.name}`);
        this.apply(item);
      }
      for (const obj of this.ctx.store.list(this.kind)) {
        if (obj.origin.source !== KUBERNETES_ORIGIN.source) continue;
        if (seen.has(`${obj.metadata.namespace}/${obj.metadata.name}`)) continue;
        // Deleted while no watch was open: the re-list is the only news of it.
        this.ctx.store.delete(this.kind, obj.metadata.namespace, obj.metadata.name);
        this.ctx.metrics.event(this.kind, 'delete');
      }
    });
    this.problems.retain(seen);
  }

  upsert(object: RawObject, event: 'add' | 'update'): void {
    this.ctx.metrics.event(this.kind, event);
    this.apply(object);
  }

  remove(object: RawObject): void {
    this.ctx.metrics.event(this.kind, 'delete');
    const { namespace, name } = identity(object);
    this.problems.clear(`${namespace}/${name}`);
    const current = this.ctx.store.find(this.kind, namespace, name);
    if (current !== undefined && current.origin.source === KUBERNETES_ORIGIN.source) {
      this.ctx.store.delete(this.kind, namespace, name);
    }
  }

  private apply(raw: RawObject): void {
    const id = identity(raw);
    const key = `${id.namespace}/${id.name}`;
    const result = validateDocument(raw, KUBERNETES_ORIGIN);
    if (result.kind === 'valid') {
      this.ctx.store.upsert(result.object);
      this.problems.clear(key);
    } else {
      this.problems.report(key, raw, result.errors);
    }
  }
}

/** Keeps EndpointSlices, decoded, beside the store. */
class EndpointSliceSink implements ReflectorSink {
  readonly slices = new Map<string, EndpointSlice>();
  readonly problems: ProblemSet;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly ctx: SinkContext) {
    this.problems = new ProblemSet('EndpointSlice', ctx);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  replace(items: readonly RawObject[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const id = identity(item);
      seen.add(`${id.namespace}/${id.name}`);
      this.apply(item);
    }
    for (const k of [...this.slices.keys()]) {
      if (!seen.has(k)) {
        this.slices.delete(k);
        this.ctx.metrics.event('EndpointSlice', 'delete');
      }
    }
    this.problems.retain(seen);
    this.notify();
  }

  upsert(object: RawObject, event: 'add' | 'update'): void {
    this.ctx.metrics.event('EndpointSlice', event);
    this.apply(object);
    this.notify();
  }

  remove(object: RawObject): void {
    this.ctx.metrics.event('EndpointSlice', 'delete');
    const { namespace, name } = identity(object);
    this.problems.clear(`${namespace}/${name}`);
    if (this.slices.delete(`${namespace}/${name}`)) this.notify();
  }

  private apply(raw: RawObject): void {
    const id = identity(raw);
    const key = `${id.namespace}/${id.name}`;
    const result = decodeEndpointSlice(raw);
    if (result.kind === 'valid') {
      this.slices.set(key, result.slice);
      this.problems.clear(key);
    } else {
      this.problems.report(key, raw, result.errors);
    }
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

export class KubernetesSource {
  private readonly client: KubeApiClient;
  private readonly log: Logger;
  private readonly metrics: KubeSourceMetrics;
  private readonly specs: readonly ResourceSpec[];
  private readonly backoffOptions: BackoffOptions;
  private readonly configSinks = new Map<string, ConfigKindSink>();
  private readonly endpointSink: EndpointSliceSink;
  private readonly reflectors: Reflector[] = [];
  private readonly abort = new AbortController();
  private readonly ctx: SinkContext;
  private stopped = false;
  private started = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: ConfigStore,
    private readonly options: KubernetesSourceOptions,
  ) {
    this.client = options.client;
    this.log = (options.logger ?? silentLogger).child({ component: 'config-kube' });
    this.metrics = new KubeSourceMetrics(options.registry);
    this.specs = options.resources ?? WATCHED_RESOURCE_SPECS;
    this.backoffOptions = options.backoff ?? DEFAULT_BACKOFF;
    this.ctx = {
      store,
      log: this.log,
      metrics: this.metrics,
      problemsChanged: () => options.onProblems?.(this.problems()),
    };
    this.endpointSink = new EndpointSliceSink(this.ctx);
  }

  /**
   * Discovers the served versions of the Istio groups, starts every
   * reflector, and resolves once the initial list of every watched kind has
   * been applied to the store. While the API server cannot be reached it
   * keeps retrying with backoff; `stop()` ends the wait with KUBE_SOURCE_STOPPED.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('KubernetesSource.start() called twice');
    this.started = true;
    const resources = await this.discover();
    for (const resource of resources) {
      const reflector = new Reflector({
        resource,
        client: this.client,
        sink: this.sinkFor(resource),
        logger: this.log,
        backoff: this.backoffOptions,
        ...(this.options.minWatchTimeoutSeconds !== undefined
          ? { minWatchTimeoutSeconds: this.options.minWatchTimeoutSeconds }
          : {}),
        onRestart: (reason) => this.metrics.restart(configKindOf(resource), reason),
      });
      this.reflectors.push(reflector);
      reflector.start();
    }
    await Promise.all(this.reflectors.map((r) => r.whenSynced));
    this.log.info(
      {
        server: this.client.server,
        kinds: resources.map((r) => `${configKindOf(r)}.${r.version}`),
        objects: this.store.size,
        problems: this.problems().length,
      },
      'kubernetes config synced',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** Whether every watched kind has completed its initial list. */
  get hasSynced(): boolean {
    return this.reflectors.length > 0 && this.reflectors.every((r) => r.hasSynced);
  }

  /** The resources being watched, at the versions picked. */
  watchedResources(): WatchedResource[] {
    return this.reflectors.map((r) => r.resource);
  }

  /** The last resourceVersion seen per ConfigKind (lists, events and bookmarks advance it). */
  resourceVersions(): Record<string, string> {
    return Object.fromEntries(this.reflectors.map((r) => [configKindOf(r.resource), r.resourceVersion]));
  }

  /** Objects the API server holds that the mesh rejects, sorted by kind/namespace/name. */
  problems(): KubeConfigProblem[] {
    const all = [...this.configSinks.values(), this.endpointSink].flatMap((s) => [...s.problems.byKey.values()]);
    return all.sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
  }

  /** The EndpointSlices the API server holds (all, or one namespace's), sorted by namespace/name. */
  endpointSlices(namespace?: string): EndpointSlice[] {
    return [...this.endpointSink.slices.values()]
      .filter((s) => namespace === undefined || s.namespace === namespace)
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }

  /** Called after every EndpointSlice change; returns the unsubscribe function. */
  onEndpointSlicesChange(listener: () => void): () => void {
    return this.endpointSink.onChange(listener);
  }

  private sinkFor(resource: WatchedResource): ReflectorSink {
    if (resource.kind === 'EndpointSlice') return this.endpointSink;
    // Keyed by ConfigKind: Istio's Gateway and the Gateway API's share the kind name.
    const kind = configKindOf(resource);
    if (!(CONFIG_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`no config kind ${kind} to store watched objects in`);
    }
    let sink = this.configSinks.get(kind);
    if (sink === undefined) {
      sink = new ConfigKindSink(kind as ConfigKind, this.ctx);
      this.configSinks.set(kind, sink);
    }
    return sink;
  }

  /**
   * Picks one served version per resource: core and discovery.k8s.io kinds
   * are fixed; a CRD group (Istio, Gateway API) is asked which versions it
   * serves and each of those which resources, and a resource gets its most
   * preferred version that serves it. A group the server does not have, or
   * a resource no version serves (its CRD is not installed, such as the
   * experimental-channel TCPRoute), is skipped with a warning.
   */
  private async discover(): Promise<WatchedResource[]> {
    const groups = [...new Set(this.specs.filter((s) => s.versions.length > 1).map((s) => s.group))];
    const served = new Map<string, readonly string[] | undefined>();
    const plurals = new Map<string, Map<string, ReadonlySet<string>>>();
    const backoff = new Backoff(this.backoffOptions);
    for (const group of groups) {
      for (;;) {
        if (this.stopped) throw new KubeSourceError('KUBE_SOURCE_STOPPED', 'stopped before the initial list');
        try {
          const versions = await this.servedVersions(group);
          const byVersion = new Map<string, ReadonlySet<string>>();
          const wanted = new Set(this.specs.filter((s) => s.group === group).flatMap((s) => s.versions));
          for (const v of versions ?? []) {
            if (wanted.has(v)) byVersion.set(v, await this.servedResources(group, v));
          }
          served.set(group, versions);
          plurals.set(group, byVersion);
          backoff.reset();
          break;
        } catch (err) {
          if (this.stopped) continue;
          const delayMs = backoff.next();
          this.log.warn({ group, err: errorMessage(err), delayMs, failures: backoff.failures }, 'api discovery failed; retrying');
          await this.sleep(delayMs);
        }
      }
    }
    const out: WatchedResource[] = [];
    for (const spec of this.specs) {
      const versions = spec.versions.length > 1 ? served.get(spec.group) : spec.versions;
      const picked = versions === undefined ? undefined : pickVersion(spec, versions, plurals.get(spec.group));
      if (picked === undefined) {
        this.log.warn(
          { kind: spec.kind, group: spec.group, wanted: spec.versions, served: versions ?? [] },
          'kind not served by the api server; not watched',
        );
        continue;
      }
      out.push(picked);
    }
    return out;
  }

  /** The versions an API group serves; undefined when the group does not exist (404). */
  private async servedVersions(group: string): Promise<readonly string[] | undefined> {
    let body: unknown;
    try {
      body = await this.client.getJson(`/apis/${group}`, {}, this.abort.signal);
    } catch (err) {
      if (err instanceof KubeSourceError && err.statusCode === 404) return undefined;
      throw err;
    }
    const versions = isRecord(body) && Array.isArray(body['versions']) ? body['versions'] : [];
    return versions.filter(isRecord).flatMap((v) => (typeof v['version'] === 'string' ? [v['version']] : []));
  }

  /** The plural names of the resources one group version serves (its APIResourceList); empty on 404. */
  private async servedResources(group: string, version: string): Promise<ReadonlySet<string>> {
    let body: unknown;
    try {
      body = await this.client.getJson(`/apis/${group}/${version}`, {}, this.abort.signal);
    } catch (err) {
      if (err instanceof KubeSourceError && err.statusCode === 404) return new Set();
      throw err;
    }
    const resources = isRecord(body) && Array.isArray(body['resources']) ? body['resources'] : [];
    return new Set(resources.filter(isRecord).flatMap((r) => (typeof r['name'] === 'string' ? [r['name']] : [])));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
