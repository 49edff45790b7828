import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ConfigStore } from '../../../../src/istiod/config/store.js';
import type { ConfigEvent } from '../../../../src/istiod/config/types.js';
import {
  KubeApiClient,
  KubernetesSource,
  KubeSourceError,
  loadKubeConfig,
  type ResourceSpec,
} from '../../../../src/istiod/config/sources/kubernetes/index.js';
import { AmbientIndex } from '../../../../src/istiod/index/index.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { startIstiod, type RunningIstiod } from '../../../../src/istiod/server.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { FakeKubeApi, type FakeResource, type KubeObject } from '../../../support/fake-kube-api.js';
import { DeltaXdsClient, resourceNames } from '../../../support/xds-client.js';
import { createTestPki } from '../../../support/ca.js';
import { testIstiodConfig } from '../../../support/istiod.js';

const FAST_BACKOFF = { initialMs: 20, maxMs: 200, jitter: 0.5 };

function namespace(name: string, ambient = true): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: ambient ? { 'istio.io/dataplane-mode': 'ambient' } : {} },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function serviceAccount(ns: string, name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } };
}

function service(ns: string, name: string, clusterIP: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

function pod(ns: string, name: string, app: string, ip: string, node = 'node-1'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${name}`, labels: { app } },
    spec: {
      nodeName: node,
      serviceAccountName: app,
      containers: [{ name: app, image: `${app}:v1`, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function allowPolicy(ns: string, name: string): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: 'backend' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/frontend`] } }] }],
    },
  };
}

function endpointSlice(ns: string, service: string, ip: string): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: `${service}-1`, namespace: ns } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** The demo mesh: an ambient namespace with a frontend and a backend, and a policy. */
function seed(api: FakeKubeApi): void {
  api.apply(namespace('demo'));
  api.apply(namespace('istio-system', false));
  for (const app of ['frontend', 'backend']) api.apply(serviceAccount('demo', app));
  api.apply(service('demo', 'backend', '10.96.0.20'));
  api.apply(pod('demo', 'backend-1', 'backend', '10.244.1.10'));
  api.apply(pod('demo', 'frontend-1', 'frontend', '10.244.1.11'));
  api.apply(allowPolicy('demo', 'backend-allow-frontend'));
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A pino logger whose JSON lines are kept for assertions. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

interface Fixture {
  api: FakeKubeApi;
  store: ConfigStore;
  source: KubernetesSource;
  registry: Registry;
  lines: Record<string, unknown>[];
  events: ConfigEvent[];
}

describe('istiod Kubernetes config source (against a fake API server over real sockets)', () => {
  let work: string;
  const apis: FakeKubeApi[] = [];
  const sources: KubernetesSource[] = [];
  const indexes: AmbientIndex[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ambit-kube-source-'));
  });

  afterEach(async () => {
    for (const i of indexes.splice(0)) i.close();
    for (const s of sources.splice(0)) await s.stop();
    for (const a of apis.splice(0)) await a.stop();
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function fixture(
    opts: {
      seedMesh?: boolean;
      resources?: readonly FakeResource[];
      specs?: readonly ResourceSpec[];
      start?: boolean;
      minWatchTimeoutSeconds?: number;
    } = {},
  ): Promise<Fixture> {
    const api = await FakeKubeApi.start(opts.resources !== undefined ? { resources: opts.resources } : {});
    apis.push(api);
    if (opts.seedMesh !== false) seed(api);
    const kubeconfig = await api.writeKubeconfig(await mkdtemp(join(work, 'kc-')));
    const store = new ConfigStore();
    const events: ConfigEvent[] = [];
    store.subscribe((e) => events.push(...e));
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    const source = new KubernetesSource(store, {
      client: new KubeApiClient(loadKubeConfig({ kubeconfig })),
      logger,
      registry,
      backoff: FAST_BACKOFF,
      ...(opts.specs !== undefined ? { resources: opts.specs } : {}),
      ...(opts.minWatchTimeoutSeconds !== undefined ? { minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds } : {}),
    });
    sources.push(source);
    if (opts.start !== false) await source.start();
    return { api, store, source, registry, lines, events };
  }

  function indexOver(store: ConfigStore): AmbientIndex {
    const index = new AmbientIndex(
      store,
      { trustDomain: 'cluster.local', clusterId: 'Kubernetes', rootNamespace: 'istio-system', domainSuffix: 'cluster.local', network: '' },
      silentLogger,
    );
    indexes.push(index);
    return index;
  }

  async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
    const m = await registry.getSingleMetric(name)?.get();
    const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return v?.value ?? 0;
  }

  it('start() resolves after every kind is listed; Pods keep their status and become Workloads in the index', async () => {
    const { api, store, source } = await fixture();
    assert.equal(source.hasSynced, true);
    assert.deepEqual(
      source.watchedResources().map((r) => `${r.kind}:${r.group}/${r.version}`),
      [
        'Namespace:/v1',
        'ServiceAccount:/v1',
        'Service:/v1',
        'Pod:/v1',
        'EndpointSlice:discovery.k8s.io/v1',
        'WorkloadEntry:networking.istio.io/v1',
        'ServiceEntry:networking.istio.io/v1',
        'VirtualService:networking.istio.io/v1',
        'DestinationRule:networking.istio.io/v1',
        'Gateway:networking.istio.io/v1',
        'AuthorizationPolicy:security.istio.io/v1',
        'PeerAuthentication:security.istio.io/v1',
      ],
    );
    assert.deepEqual(
      store.all().map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort(),
      [
        'AuthorizationPolicy/demo/backend-allow-frontend',
        'Namespace//demo',
        'Namespace//istio-system',
        'Pod/demo/backend-1',
        'Pod/demo/frontend-1',
        'Service/demo/backend',
        'ServiceAccount/demo/backend',
        'ServiceAccount/demo/frontend',
      ],
    );
    const backend = store.find('Pod', 'demo', 'backend-1');
    assert.deepEqual(backend?.origin, { source: 'kubernetes' });
    assert.equal(backend?.apiVersion, 'v1');
    assert.deepEqual(backend?.status, {
      podIP: '10.244.1.10',
      podIPs: [{ ip: '10.244.1.10' }],
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    assert.equal(backend?.metadata.resourceVersion, api.get('Pod', 'demo', 'backend-1')?.metadata?.['resourceVersion']);

    const index = indexOver(store);
    const names = [...index.resources(ADDRESS_TYPE_URL).keys()].sort();
    assert.deepEqual(names, [
      'Kubernetes//Pod/demo/backend-1',
      'Kubernetes//Pod/demo/frontend-1',
      'demo/backend.demo.svc.cluster.local',
    ]);
    const w = index.workloads().find((x) => x.name === 'backend-1');
    assert.deepEqual([...(w?.addresses[0] ?? [])], ipBytes('10.244.1.10'));
    assert.deepEqual([...index.resources(AUTHORIZATION_TYPE_URL).keys()], ['demo/backend-allow-frontend']);
    // Every list asked for the collection once; every watch asked for bookmarks from the list's version.
    await api.waitForWatches('Pod');
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), 1);
    const watch = api.requests.find((r) => r.path === '/api/v1/pods' && r.watch);
    assert.equal(watch?.query.get('allowWatchBookmarks'), 'true');
    assert.match(watch?.query.get('resourceVersion') ?? '', /^\d+$/);
    assert.match(watch?.authorization ?? '', /^Bearer fake-/);
  });

  it('adds, updates and deletes from the watch reach the store and the index', async () => {
    const { api, store } = await fixture();
    const index = indexOver(store);
    await api.waitForWatches('Pod');

    api.apply(pod('demo', 'backend-2', 'backend', '10.244.2.20', 'node-2'));
    await waitFor('the new pod as a workload', () => index.find(ADDRESS_TYPE_URL, 'Kubernetes//Pod/demo/backend-2') !== undefined);
    assert.equal(store.find('Pod', 'demo', 'backend-2')?.spec.nodeName, 'node-2');

    api.apply(pod('demo', 'backend-2', 'backend', '10.244.2.21', 'node-2'));
    await waitFor('the new pod IP', () => {
      const w = index.workloads().find((x) => x.name === 'backend-2');
      return w !== undefined && w.addresses[0]?.[3] === 21;
    });

    api.apply({ ...allowPolicy('demo', 'second'), spec: { action: 'DENY', rules: [{}] } });
    await waitFor('the second policy', () => index.find(AUTHORIZATION_TYPE_URL, 'demo/second') !== undefined);

    api.delete('Pod', 'demo', 'backend-2');
    api.delete('AuthorizationPolicy', 'demo', 'second');
    await waitFor('the deletions', () => store.find('Pod', 'demo', 'backend-2') === undefined && store.find('AuthorizationPolicy', 'demo', 'second') === undefined);
    await waitFor('the workload to leave the index', () => index.find(ADDRESS_TYPE_URL, 'Kubernetes//Pod/demo/backend-2') === undefined);
    assert.equal(index.find(AUTHORIZATION_TYPE_URL, 'demo/second'), undefined);
  });

  it('re-lists after a watch expires (410): changes made meanwhile arrive once, deleted objects leave, nothing is lost', async () => {
    const { api, store, source, registry, events } = await fixture();
    await api.waitForWatches('Pod');
    const podLists = api.countRequests({ path: '/api/v1/pods', watch: false });
    events.length = 0;

    // The API server goes away; while it is gone objects change and history is compacted.
    await api.pause();
    api.delete('Pod', 'demo', 'frontend-1');
    api.apply(pod('demo', 'late-1', 'late', '10.244.3.30'));
    api.apply(pod('demo', 'backend-1', 'backend', '10.244.1.99'));
    api.expireWatches();
    await api.resume();

    await waitFor('the re-list', () => store.find('Pod', 'demo', 'late-1') !== undefined && store.find('Pod', 'demo', 'frontend-1') === undefined);
    await waitFor('the backend update', () => store.find('Pod', 'demo', 'backend-1')?.status?.podIP === '10.244.1.99');
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), podLists + 1, 'one re-list of pods');
    // Exactly the three changes, once each; unchanged objects produced no events.
    assert.deepEqual(
      events.map((e) => `${e.kind} ${e.object.kind}/${e.object.metadata.name}`).sort(),
      ['add Pod/late-1', 'delete Pod/frontend-1', 'update Pod/backend-1'],
    );
    assert.equal(store.list('Pod').length, 2);
    assert.equal(store.list('Namespace').length, 2);
    assert.ok((await metricValue(registry, 'ambit_kube_watch_restarts_total', { kind: 'Pod', reason: 'expired' })) >= 1);
    // The watch that follows the re-list starts from the re-list's version.
    await api.waitForWatches('Pod');
    assert.equal(source.resourceVersions()['Pod'], api.resourceVersion);
  });

  it('an ERROR 410 event on an open watch makes the source list again and pick up what it missed', async () => {
    const { api, store } = await fixture();
    await api.waitForWatches('Service');
    const before = api.countRequests({ path: '/api/v1/services', watch: false });
    api.expireWatches('Service');
    api.apply(service('demo', 'frontend', '10.96.0.21'));
    await waitFor('the new service', () => store.find('Service', 'demo', 'frontend') !== undefined);
    assert.equal(api.countRequests({ path: '/api/v1/services', watch: false }), before + 1);
    assert.equal(store.list('Service').length, 2);
  });

  it('bookmarks advance the resourceVersion the next watch resumes from', async () => {
    const { api, source } = await fixture();
    await api.waitForWatches('Pod');
    const listed = source.resourceVersions()['Pod'];
    api.apply(namespace('unrelated'));
    const bookmark = api.bookmark('Pod');
    assert.notEqual(bookmark, listed);
    await waitFor('the bookmark version', () => source.resourceVersions()['Pod'] === bookmark);

    const watchesBefore = api.countRequests({ path: '/api/v1/pods', watch: true });
    api.closeWatches('Pod');
    await waitFor('a new pod watch', () => api.countRequests({ path: '/api/v1/pods', watch: true }) > watchesBefore);
    const last = api.requests.filter((r) => r.path === '/api/v1/pods' && r.watch).at(-1);
    assert.equal(last?.query.get('resourceVersion'), bookmark);
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), 1, 'a closed watch resumes without a re-list');
  });

  it('asks for a jittered server-side watch timeout and, when the server ends the watch, resumes without a re-list', async () => {
    const { api, store } = await fixture({ specs: [{ kind: 'Pod', group: '', versions: ['v1'], plural: 'pods', namespaced: true }], minWatchTimeoutSeconds: 1 });
    await waitFor('a third pod watch', () => api.countRequests({ path: '/api/v1/pods', watch: true }) >= 3, 8000);
    const timeouts = api.requests.filter((r) => r.watch).map((r) => Number(r.query.get('timeoutSeconds')));
    assert.ok(timeouts.every((t) => t >= 1 && t <= 2), `timeouts: ${timeouts.join(',')}`);
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), 1);
    api.apply(pod('demo', 'after-timeouts', 'x', '10.244.5.50'));
    await waitFor('the pod', () => store.find('Pod', 'demo', 'after-timeouts') !== undefined);
  });

  it('a malformed object is reported with its field path and counted; the others are unaffected', async () => {
    const { api, store, source, registry, lines } = await fixture({ start: false });
    api.apply({ ...pod('demo', 'broken', 'broken', '10.244.9.9'), status: { podIP: 'not-an-ip' } });
    await source.start();

    assert.equal(store.find('Pod', 'demo', 'broken'), undefined);
    assert.equal(store.list('Pod').length, 2);
    const problems = source.problems();
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.kind, 'Pod');
    assert.equal(problems[0]?.namespace, 'demo');
    assert.equal(problems[0]?.name, 'broken');
    assert.deepEqual(problems[0]?.errors.map((e) => e.path), ['status.podIP']);
    const logged = lines.find((l) => l['msg'] === 'invalid object kept out; last good version stays');
    assert.equal(logged?.['kind'], 'Pod');
    assert.equal(logged?.['namespace'], 'demo');
    assert.equal(logged?.['name'], 'broken');
    assert.deepEqual((logged?.['errors'] as { path: string }[]).map((e) => e.path), ['status.podIP']);
    assert.equal(await metricValue(registry, 'ambit_kube_invalid_objects_total', { kind: 'Pod' }), 1);

    // Garbage on the watch stream breaks only that watch: it resumes from the last version and nothing is lost.
    await api.waitForWatches('Pod');
    api.sendRawLine('Pod', '{"type": "ADDED", "object": ');
    api.apply(pod('demo', 'after-garbage', 'x', '10.244.9.10'));
    await waitFor('the pod sent after the garbage', () => store.find('Pod', 'demo', 'after-garbage') !== undefined);
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), 1);
    assert.ok((await metricValue(registry, 'ambit_kube_watch_restarts_total', { kind: 'Pod', reason: 'error' })) >= 1);

    // Deleting the malformed object clears its problem.
    api.delete('Pod', 'demo', 'broken');
    await waitFor('the problem to clear', () => source.problems().length === 0);
  });

  it('an invalid update keeps the last good version in the store until a valid one arrives', async () => {
    const { api, store, source, registry } = await fixture();
    await api.waitForWatches('AuthorizationPolicy');
    const good = store.find('AuthorizationPolicy', 'demo', 'backend-allow-frontend');
    assert.ok(good);

    api.applyRaw('AuthorizationPolicy', { ...allowPolicy('demo', 'backend-allow-frontend'), spec: { action: 'ALLOW', rules: [{ to: [{ operation: { ports: ['http'] } }] }] } }, 'security.istio.io');
    await waitFor('the problem', () => source.problems().length === 1);
    assert.deepEqual(source.problems()[0]?.errors.map((e) => e.path), ['spec.rules[0].to[0].operation.ports[0]']);
    assert.deepEqual(store.find('AuthorizationPolicy', 'demo', 'backend-allow-frontend'), good, 'the last good version stays');
    assert.equal(await metricValue(registry, 'ambit_kube_invalid_objects_total', { kind: 'AuthorizationPolicy' }), 1);

    api.apply({ ...allowPolicy('demo', 'backend-allow-frontend'), spec: { action: 'DENY', rules: [{}] } });
    await waitFor('the fixed policy', () => store.find('AuthorizationPolicy', 'demo', 'backend-allow-frontend')?.spec.action === 'DENY');
    assert.deepEqual(source.problems(), []);
  });

  it('with the API server down at start, start() retries with backoff and resolves once it answers', async () => {
    const { api, store, source, lines } = await fixture({ start: false });
    await api.pause();
    let resolved = false;
    const started = source.start().then(() => {
      resolved = true;
    });
    await waitFor('two failed attempts', () => lines.filter((l) => l['msg'] === 'api discovery failed; retrying').length >= 2);
    assert.equal(resolved, false);
    assert.equal(store.size, 0);
    const delays = lines.filter((l) => l['msg'] === 'api discovery failed; retrying').map((l) => l['delayMs'] as number);
    assert.ok(delays.every((d) => d >= 0 && d <= FAST_BACKOFF.maxMs), `bounded delays: ${delays.join(',')}`);
    await api.resume();
    await started;
    assert.equal(store.list('Pod').length, 2);
  });

  it('with the API server down mid-run, watches resume from their version after backoff and catch up', async () => {
    const { api, store, lines } = await fixture();
    await api.waitForWatches('Pod');
    await api.pause();
    api.apply(pod('demo', 'while-down', 'x', '10.244.4.40'));
    await waitFor('failed watches', () => lines.some((l) => l['msg'] === 'watch failed; resuming after backoff'));
    await api.resume();
    await waitFor('the pod created while down', () => store.find('Pod', 'demo', 'while-down') !== undefined);
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), 1, 'the version was still valid: no re-list');
  });

  it('retries a list the API server fails (HTTP 500) and still syncs', async () => {
    const { api, store, source } = await fixture({ start: false });
    api.failNext(2, 500, (r) => r.path === '/api/v1/pods' && !r.watch);
    await source.start();
    assert.equal(api.countRequests({ path: '/api/v1/pods', watch: false }), 3);
    assert.equal(store.list('Pod').length, 2);
  });

  it('watches v1 where served, v1beta1 where a group serves only that, and skips a group without CRDs', async () => {
    const resources: FakeResource[] = [
      { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
      { group: 'networking.istio.io', version: 'v1beta1', kind: 'WorkloadEntry', plural: 'workloadentries', namespaced: true },
      { group: 'networking.istio.io', version: 'v1alpha3', kind: 'WorkloadEntry', plural: 'workloadentries', namespaced: true },
    ];
    const specs: ResourceSpec[] = [
      { kind: 'Namespace', group: '', versions: ['v1'], plural: 'namespaces', namespaced: false },
      { kind: 'WorkloadEntry', group: 'networking.istio.io', versions: ['v1', 'v1beta1'], plural: 'workloadentries', namespaced: true },
      { kind: 'AuthorizationPolicy', group: 'security.istio.io', versions: ['v1', 'v1beta1'], plural: 'authorizationpolicies', namespaced: true },
    ];
    const { api, store, source } = await fixture({ seedMesh: false, resources, specs, start: false });
    api.apply(namespace('vms'));
    api.apply({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'WorkloadEntry',
      metadata: { name: 'vm-1', namespace: 'vms' },
      spec: { address: '192.168.1.5', serviceAccount: 'vm', labels: { app: 'vm' } },
    });
    await source.start();
    assert.deepEqual(source.watchedResources().map((r) => `${r.kind}:${r.version}`), ['Namespace:v1', 'WorkloadEntry:v1beta1']);
    assert.equal(store.find('WorkloadEntry', 'vms', 'vm-1')?.apiVersion, 'networking.istio.io/v1beta1');
  });

  it('keeps EndpointSlices beside the store, decoded, and follows their changes', async () => {
    const { api, source } = await fixture({ start: false });
    api.apply(endpointSlice('demo', 'backend', '10.244.1.10'));
    await source.start();
    assert.deepEqual(source.endpointSlices(), [
      {
        namespace: 'demo',
        name: 'backend-abcde',
        serviceName: 'backend',
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.1.10'], ready: true, nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'demo', name: 'backend-1' } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        resourceVersion: api.get('EndpointSlice', 'demo', 'backend-abcde')?.metadata?.['resourceVersion'],
      },
    ]);
    let changes = 0;
    source.onEndpointSlicesChange(() => changes++);
    api.delete('EndpointSlice', 'demo', 'backend-abcde');
    await waitFor('the slice to go', () => source.endpointSlices().length === 0);
    assert.equal(changes, 1);
  });

  it('speaks HTTPS to an API server whose certificate chains to the kubeconfig CA, and refuses one that does not', async () => {
    const pki = createTestPki();
    const serving = pki.issueServing(['127.0.0.1']);
    const api = await FakeKubeApi.start({ tls: { certPem: serving.chainPem, keyPem: serving.keyPem, caPem: pki.rootPem } });
    apis.push(api);
    seed(api);
    const dir = await mkdtemp(join(work, 'tls-'));
    const store = new ConfigStore();
    const source = new KubernetesSource(store, {
      client: new KubeApiClient(loadKubeConfig({ kubeconfig: await api.writeKubeconfig(dir) })),
      backoff: FAST_BACKOFF,
    });
    sources.push(source);
    await source.start();
    assert.equal(store.list('Pod').length, 2);

    const strangerCa = createTestPki().rootPem;
    const stranger = new KubeApiClient(
      loadKubeConfig({ kubeconfig: await api.writeKubeconfig(dir, { fileName: 'other-ca', caPem: strangerCa }) }),
    );
    await assert.rejects(stranger.getJson('/api/v1/pods'), (err: unknown) => err instanceof KubeSourceError && err.code === 'KUBE_UNREACHABLE');
  });

  it('reports a rejected token as the API server\'s 401, with its Status reason', async () => {
    const { api } = await fixture({ seedMesh: false, start: false });
    const kubeconfig = await api.writeKubeconfig(await mkdtemp(join(work, 'kc-')), { token: 'wrong-token' });
    const client = new KubeApiClient(loadKubeConfig({ kubeconfig }));
    await assert.rejects(
      client.getJson('/api/v1/pods'),
      (err: unknown) =>
        err instanceof KubeSourceError && err.code === 'KUBE_REQUEST_FAILED' && err.statusCode === 401 && /Unauthorized/.test(err.message),
    );
  });

  it('stop() before the initial list ends start() with KUBE_SOURCE_STOPPED', async () => {
    const { api, source } = await fixture({ start: false });
    await api.pause();
    const started = source.start();
    await new Promise((r) => setTimeout(r, 50));
    await source.stop();
    await assert.rejects(started, (err: unknown) => err instanceof KubeSourceError && err.code === 'KUBE_SOURCE_STOPPED');
  });
});

describe('istiod --kubernetes (startIstiod against the fake API server)', () => {
  let work: string;
  let api: FakeKubeApi;
  let istiod: RunningIstiod | undefined;
  let client: DeltaXdsClient | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ambit-istiod-kube-'));
    api = await FakeKubeApi.start();
    seed(api);
  });

  after(async () => {
    client?.close();
    await istiod?.stop();
    await api?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a configuration with neither a config directory nor the Kubernetes source', () => {
    assert.throws(
      () =>
        testIstiodConfig({
          caDir: join(work, 'ca'),
        }),
      (err: unknown) => (err as { code?: string }).code === 'ISTIOD_BAD_FLAG' && /--kubernetes/.test((err as Error).message),
    );
  });

  it('serves the API server\'s objects over delta xDS and pushes their changes', async () => {
    istiod = await startIstiod(
      testIstiodConfig({
        kubernetes: { kubeconfig: await api.writeKubeconfig(work) },
        caDir: join(work, 'ca'),
      }),
      silentLogger,
    );
    const ready = await fetch(`http://127.0.0.1:${istiod.ports.monitoring}/ready`);
    assert.equal(ready.status, 200);

    // The loopback plaintext port: this test is about the Kubernetes source, not xDS authentication.
    client = new DeltaXdsClient(`127.0.0.1:${istiod.ports.grpc}`, { nodeName: 'node-1' });
    client.subscribe(ADDRESS_TYPE_URL);
    const addresses = await client.next();
    client.ack(addresses);
    assert.deepEqual(resourceNames(addresses), [
      'Kubernetes//Pod/demo/backend-1',
      'Kubernetes//Pod/demo/frontend-1',
      'demo/backend.demo.svc.cluster.local',
    ]);
    client.subscribe(AUTHORIZATION_TYPE_URL);
    const policies = await client.next();
    client.ack(policies);
    assert.deepEqual(resourceNames(policies), ['demo/backend-allow-frontend']);

    api.apply(pod('demo', 'backend-2', 'backend', '10.244.2.22', 'node-2'));
    const delta = await client.next(5000);
    client.ack(delta);
    assert.ok(resourceNames(delta).includes('Kubernetes//Pod/demo/backend-2'), `delta: ${resourceNames(delta).join(', ')}`);

    const configz = (await (await fetch(`http://127.0.0.1:${istiod.ports.monitoring}/debug/configz`)).json()) as {
      objects: { origin: { source: string } }[];
    };
    assert.ok(configz.objects.length > 0);
    assert.ok(configz.objects.every((o) => o.origin.source === 'kubernetes'));
    const metrics = await (await fetch(`http://127.0.0.1:${istiod.ports.monitoring}/metrics`)).text();
    assert.match(metrics, /pilot_k8s_reg_events\{type="Pod",event="add"\} \d+/);
  });
});
