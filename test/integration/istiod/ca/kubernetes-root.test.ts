import assert from 'node:assert/strict';
import https from 'node:https';
import { Registry } from 'prom-client';
import {
  KubeCaError,
  KubeConfigRestClient,
  loadOrCreateKubeCaMaterial,
  OWNED_LABEL_KEY,
  PLUGGED_IN_CA_SECRET,
  ROOT_CERT_CONFIGMAP,
  ROOT_CERT_CONFIGMAP_KEY,
  RootCertPublisher,
  SELF_SIGNED_CA_SECRET,
  startKubernetesSecurity,
  type KubernetesSecurity,
} from '../../../../src/istiod/ca/kubernetes/index.js';
import { ConfigStore } from '../../../../src/istiod/config/store.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { createTestPki } from '../../../support/ca.js';
import { namespace } from '../../../support/config-objects.js';
import { FakeKubeAuthApi } from '../../../support/fake-kube-auth-api.js';

const NS = 'istio-system';
const TD = 'cluster.local';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function configMapRoot(api: FakeKubeAuthApi, ns: string): string | undefined {
  const data = api.get('configmaps', ns, ROOT_CERT_CONFIGMAP)?.['data'] as Record<string, string> | undefined;
  return data?.[ROOT_CERT_CONFIGMAP_KEY];
}

describe('istiod/ca on Kubernetes: the root in Secrets and the root ConfigMaps (fake API server)', function () {
  this.timeout(30_000);
  let api: FakeKubeAuthApi;
  let client: KubeConfigRestClient;
  const started: KubernetesSecurity[] = [];
  const publishers: RootCertPublisher[] = [];

  beforeEach(async () => {
    api = await FakeKubeAuthApi.start();
    client = new KubeConfigRestClient(api.kubeConfig(), { timeoutMs: 2000 });
  });
  afterEach(async () => {
    for (const s of started.splice(0)) await s.close();
    for (const p of publishers.splice(0)) await p.stop();
    await api.stop();
  });

  describe('the CA Secret', () => {
    it('creates istio-ca-secret once; a second istiod reuses the same root', async () => {
      const first = await loadOrCreateKubeCaMaterial({
        client,
        namespace: NS,
        trustDomain: TD,
        logger: silentLogger,
      });
      assert.equal(first.source, 'created');
      const secret = api.get('secrets', NS, SELF_SIGNED_CA_SECRET);
      assert.equal(secret?.['type'], 'istio.io/ca-root');
      const data = secret?.['data'] as Record<string, string>;
      assert.equal(Buffer.from(data['ca-cert.pem'] ?? '', 'base64').toString(), first.rootPems[0]);
      assert.match(Buffer.from(data['ca-key.pem'] ?? '', 'base64').toString(), /BEGIN PRIVATE KEY/);

      const second = await loadOrCreateKubeCaMaterial({
        client,
        namespace: NS,
        trustDomain: TD,
        logger: silentLogger,
      });
      assert.equal(second.source, 'self-signed');
      assert.deepEqual(second.rootPems, first.rootPems);
      assert.equal(api.count('POST', `/api/v1/namespaces/${NS}/secrets`), 1);
    });

    it("two istiods starting together agree on one root (the loser of the create reads the winner's)", async () => {
      const [a, b] = await Promise.all([
        loadOrCreateKubeCaMaterial({ client, namespace: NS, trustDomain: TD, logger: silentLogger }),
        loadOrCreateKubeCaMaterial({ client, namespace: NS, trustDomain: TD, logger: silentLogger }),
      ]);
      assert.deepEqual(a.rootPems, b.rootPems);
      assert.ok(a.signingCert.raw.equals(b.signingCert.raw));
      assert.deepEqual([a.source, b.source].sort(), ['created', 'self-signed']);
    });

    it("uses the operator's cacerts Secret (plug-in intermediate) when present, creating nothing", async () => {
      const pki = createTestPki({ intermediate: true });
      const inter = pki.intermediate;
      assert.ok(inter !== undefined);
      api.put('secrets', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: PLUGGED_IN_CA_SECRET, namespace: NS },
        data: {
          'ca-cert.pem': b64(inter.certPem),
          'ca-key.pem': b64(inter.keyPem),
          'cert-chain.pem': b64(inter.certPem + pki.root.certPem),
          'root-cert.pem': b64(pki.root.certPem),
        },
      });
      const material = await loadOrCreateKubeCaMaterial({
        client,
        namespace: NS,
        trustDomain: TD,
        logger: silentLogger,
      });
      assert.equal(material.source, 'plugged-in');
      assert.deepEqual(material.rootPems, [pki.root.certPem]);
      assert.equal(material.intermediatePems.length, 1);
      assert.equal(api.get('secrets', NS, SELF_SIGNED_CA_SECRET), undefined);
    });

    it('cacerts wins over an existing istio-ca-secret', async () => {
      await loadOrCreateKubeCaMaterial({ client, namespace: NS, trustDomain: TD, logger: silentLogger });
      const pki = createTestPki();
      api.put('secrets', {
        metadata: { name: PLUGGED_IN_CA_SECRET, namespace: NS },
        data: {
          'ca-cert.pem': b64(pki.root.certPem),
          'ca-key.pem': b64(pki.root.keyPem),
          'root-cert.pem': b64(pki.root.certPem),
        },
      });
      const material = await loadOrCreateKubeCaMaterial({
        client,
        namespace: NS,
        trustDomain: TD,
        logger: silentLogger,
      });
      assert.deepEqual(material.rootPems, [pki.root.certPem]);
    });

    const broken: { name: string; data: Record<string, string>; mentions: string }[] = [
      {
        name: 'a cacerts Secret without a key',
        data: { 'ca-cert.pem': 'x', 'root-cert.pem': 'x' },
        mentions: 'ca-key.pem is missing',
      },
      {
        name: 'a cacerts Secret whose certificate is not PEM',
        data: { 'ca-cert.pem': 'not a cert', 'ca-key.pem': 'k', 'root-cert.pem': 'r' },
        mentions: `Secret ${NS}/${PLUGGED_IN_CA_SECRET}: ca-cert.pem`,
      },
    ];
    for (const c of broken) {
      it(`refuses ${c.name} with KUBE_CA_SECRET_INVALID naming the Secret`, async () => {
        api.put('secrets', {
          metadata: { name: PLUGGED_IN_CA_SECRET, namespace: NS },
          data: Object.fromEntries(Object.entries(c.data).map(([k, v]) => [k, b64(v)])),
        });
        await assert.rejects(
          loadOrCreateKubeCaMaterial({ client, namespace: NS, trustDomain: TD, logger: silentLogger }),
          (e: unknown) =>
            e instanceof KubeCaError && e.code === 'KUBE_CA_SECRET_INVALID' && e.message.includes(c.mentions),
        );
      });
    }

    it('fails start-up with KUBE_API_UNAVAILABLE when the API server is down', async () => {
      await api.stop();
      await assert.rejects(
        loadOrCreateKubeCaMaterial({ client, namespace: NS, trustDomain: TD, logger: silentLogger }),
        (e: unknown) => e instanceof KubeCaError && e.code === 'KUBE_API_UNAVAILABLE',
      );
    });
  });

  describe('the root ConfigMaps', () => {
    const ROOT = createTestPki().rootPem;

    it('publishes istio-ca-root-cert, labelled, in every namespace but the system ones and terminating ones', async () => {
      for (const ns of ['default', 'demo', 'kube-system']) api.addNamespace(ns);
      api.addNamespace('going-away', 'Terminating');
      const publisher = new RootCertPublisher({
        client,
        rootPem: ROOT,
        logger: silentLogger,
        resyncIntervalMs: 60_000,
      });
      publishers.push(publisher);
      await publisher.start();
      for (const ns of ['default', 'demo']) {
        assert.equal(configMapRoot(api, ns), ROOT, ns);
        const labels = (api.get('configmaps', ns, ROOT_CERT_CONFIGMAP)?.metadata['labels'] ?? {}) as Record<
          string,
          string
        >;
        assert.equal(labels[OWNED_LABEL_KEY], 'true');
      }
      assert.equal(api.get('configmaps', 'kube-system', ROOT_CERT_CONFIGMAP), undefined);
      assert.equal(api.get('configmaps', 'going-away', ROOT_CERT_CONFIGMAP), undefined);
    });

    it('costs two list calls per pass once every namespace is up to date', async () => {
      for (let i = 0; i < 20; i++) api.addNamespace(`ns-${i}`);
      const publisher = new RootCertPublisher({
        client,
        rootPem: ROOT,
        logger: silentLogger,
        resyncIntervalMs: 60_000,
      });
      publishers.push(publisher);
      await publisher.start();
      assert.equal(api.count('POST', '/api/v1/namespaces/'), 20);
      const before = api.requests.length;
      await publisher.syncAll();
      assert.deepEqual(
        api.requests.slice(before).map((r) => `${r.method} ${r.path}`),
        ['GET /api/v1/namespaces', 'GET /api/v1/configmaps'],
      );
    });

    it('gives a namespace created later its ConfigMap on the next pass', async () => {
      api.addNamespace('default');
      const publisher = new RootCertPublisher({
        client,
        rootPem: ROOT,
        logger: silentLogger,
        resyncIntervalMs: 50,
      });
      publishers.push(publisher);
      await publisher.start();
      api.addNamespace('late');
      await waitFor('the ConfigMap in namespace late', () => configMapRoot(api, 'late') === ROOT);
    });

    it('updates its own stale ConfigMap and leaves one it does not own alone', async () => {
      api.addNamespace('stale');
      api.addNamespace('foreign');
      api.put('configmaps', {
        metadata: {
          name: ROOT_CERT_CONFIGMAP,
          namespace: 'stale',
          labels: { [OWNED_LABEL_KEY]: 'true', keep: 'me' },
        },
        data: { [ROOT_CERT_CONFIGMAP_KEY]: 'old root' },
      });
      api.put('configmaps', {
        metadata: { name: ROOT_CERT_CONFIGMAP, namespace: 'foreign' },
        data: { [ROOT_CERT_CONFIGMAP_KEY]: "somebody else's" },
      });
      const publisher = new RootCertPublisher({ client, rootPem: ROOT, logger: silentLogger });
      publishers.push(publisher);
      assert.equal(await publisher.syncNamespace('stale'), 'updated');
      assert.equal(await publisher.syncNamespace('foreign'), 'not-owned');
      assert.equal(await publisher.syncNamespace('stale'), 'unchanged');
      assert.equal(configMapRoot(api, 'stale'), ROOT);
      assert.equal(
        (
          (api.get('configmaps', 'stale', ROOT_CERT_CONFIGMAP)?.metadata['labels'] ?? {}) as Record<
            string,
            string
          >
        )['keep'],
        'me',
      );
      assert.equal(configMapRoot(api, 'foreign'), "somebody else's");
      assert.equal(api.count('PUT', '/api/v1/namespaces/foreign/'), 0);
    });

    it('keeps running through an API outage and publishes again once the server answers', async () => {
      api.addNamespace('default');
      const publisher = new RootCertPublisher({
        client,
        rootPem: ROOT,
        logger: silentLogger,
        resyncIntervalMs: 50,
      });
      publishers.push(publisher);
      await publisher.start();
      api.failWith = 503;
      const before = api.requests.length;
      await waitFor('failed passes', () => api.requests.length >= before + 2);
      api.failWith = undefined;
      api.addNamespace('after-outage');
      await waitFor('the ConfigMap after the outage', () => configMapRoot(api, 'after-outage') === ROOT);
    });
  });

  describe('startKubernetesSecurity', () => {
    it("a second istiod reuses the first one's root, publishes it, and serves the webhook with a certificate from it", async () => {
      api.addNamespace('default');
      const options = {
        client,
        namespace: NS,
        trustDomain: TD,
        webhook: { host: '127.0.0.1', port: 0 },
        registry: new Registry(),
        logger: silentLogger,
      };
      const first = await startKubernetesSecurity(options);
      started.push(first);
      const second = await startKubernetesSecurity({ ...options, registry: new Registry() });
      started.push(second);
      assert.deepEqual(second.material.rootPems, first.material.rootPems);
      assert.equal(configMapRoot(api, 'default'), first.material.rootPems.join(''));
      const body = await new Promise<string>((resolve, reject) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port: second.webhookPort,
            path: '/ready',
            ca: first.material.rootPems.join(''),
            servername: `istiod.${NS}.svc`,
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(`${res.statusCode} ${text.trim()}`));
          },
        );
        req.on('error', reject);
      });
      assert.equal(body, '200 ok');
    });

    it('publishes to a namespace the config source adds at once, without waiting for the next pass', async () => {
      const store = new ConfigStore();
      const security = await startKubernetesSecurity({
        client,
        namespace: NS,
        trustDomain: TD,
        rootConfigMapResyncMs: 60_000,
        namespaceEvents: store,
        registry: new Registry(),
        logger: silentLogger,
      });
      started.push(security);
      assert.equal(security.webhookPort, undefined);
      store.upsert(namespace('fresh'));
      await waitFor(
        'the ConfigMap in namespace fresh',
        () => configMapRoot(api, 'fresh') === security.material.rootPems.join(''),
      );
    });
  });
});
