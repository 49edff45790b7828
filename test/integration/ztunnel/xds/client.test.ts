import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { Registry, type Counter } from 'prom-client';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { AddressSchema, WorkloadSchema, type Workload } from '../../../../src/gen/istio/workload/workload_pb.js';
import { Action, AuthorizationSchema, Scope } from '../../../../src/gen/istio/security/authorization_pb.js';
import { prepareConnection } from '../../../../src/ztunnel/authz/index.js';
import { ResourceSchema } from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { XdsServer, listenXds, type XdsListeners } from '../../../../src/istiod/xds/index.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WorkloadStore, type StoreChange } from '../../../../src/ztunnel/state/index.js';
import { XdsClient, type XdsClientOptions } from '../../../../src/ztunnel/xds/index.js';
import { InMemoryResourceSource } from '../../../support/resource-source.js';
import {
  BACKEND_UID,
  FRONTEND_UID,
  ISTIOD_SERVER_NAME,
  NODE_ONE_TOKEN,
  eventually,
  startIstiodFixture,
  type IstiodFixture,
} from './istiod-fixture.js';
import { RecordingAds } from './recording-ads.js';
import { createTestPki } from '../../../support/ca.js';

const AGENT = { ip: '10.0.1.2', podName: 'ztunnel-abcde', podNamespace: 'istio-system', nodeName: 'node-1' };

function ip(text: string): Uint8Array {
  return new Uint8Array(text.split('.').map(Number));
}

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name) as Counter | undefined;
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const data = await metric.get();
  return data.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

function addressBytes(w: Workload): Uint8Array {
  return toBinary(AddressSchema, create(AddressSchema, { type: { case: 'workload', value: w } }));
}

function workload(name: string, addr: Uint8Array, node = 'node-1'): Workload {
  return create(WorkloadSchema, { uid: `Kubernetes//Pod/demo/${name}`, name, namespace: 'demo', addresses: [addr], node });
}

const EXTRA_UID = 'Kubernetes//Pod/demo/extra-pod';
const EXTRA_POD = `apiVersion: v1
kind: Pod
metadata:
  name: extra-pod
  namespace: demo
  uid: 3d1f6a7b-8c9d-4e0f-a1b2-c3d4e5f60099
  labels:
    app: extra
spec:
  nodeName: node-1
  serviceAccountName: default
  containers:
    - name: extra
      image: extra:v1
status:
  phase: Running
  podIP: 10.244.1.99
  conditions:
    - type: Ready
      status: "True"
`;

describe('XdsClient', () => {
  const clients: XdsClient[] = [];
  const newClient = (o: Omit<XdsClientOptions, 'agent'> & { agent?: XdsClientOptions['agent'] }): XdsClient => {
    const c = new XdsClient({ agent: AGENT, ...o });
    clients.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  describe('against a real istiod over TLS', () => {
    let fx: IstiodFixture;
    before(async () => {
      fx = await startIstiodFixture();
    });
    after(async () => {
      await fx?.cleanup();
    });

    it('syncs the mesh on 15012 verified against the mesh root, then follows file changes and deletions', async () => {
      const store = new WorkloadStore('node-1');
      const registry = new Registry();
      const client = newClient({
        address: `127.0.0.1:${fx.istiod.ports.secureGrpc}`,
        tls: { rootPem: fx.istiod.rootPem, serverName: ISTIOD_SERVER_NAME },
        token: NODE_ONE_TOKEN,
        store,
        registry,
      });
      client.start();
      await client.waitForInitialSync(5000);

      assert.deepEqual(store.snapshot().workloads.map((w) => w.uid), [BACKEND_UID, FRONTEND_UID]);
      assert.deepEqual(store.snapshot().services.map((s) => s.name), ['backend', 'frontend']);
      assert.deepEqual(
        store.snapshot().policies.map((p) => `${p.namespace}/${p.name}`),
        ['demo/backend-allow-frontend', 'istio-system/istio_converted_static_strict'],
      );
      assert.deepEqual(store.findLocalWorkloads().map((w) => w.uid), [FRONTEND_UID]);
      assert.equal(store.findServiceByVip('', ip('10.96.0.20'))?.name, 'backend');
      assert.deepEqual(store.findEndpoints('demo/backend.demo.svc.cluster.local').map((e) => e.workload.uid), [BACKEND_UID]);

      const status = client.status();
      assert.equal(status.connected, true);
      assert.deepEqual(status.types.map((t) => [t.typeUrl, t.resources, t.synced, t.acks, t.nacks]), [
        [ADDRESS_TYPE_URL, 4, true, 1, 0],
        [AUTHORIZATION_TYPE_URL, 2, true, 1, 0],
      ]);
      assert.equal(await counter(registry, 'istio_xds_message_total', { url: ADDRESS_TYPE_URL }), 1);
      assert.ok((await counter(registry, 'istio_xds_message_bytes_total', { url: ADDRESS_TYPE_URL })) > 100);
      const syncz = (): string[] | undefined => fx.istiod.xds.syncStatus()[0]?.types.map((t) => t.state);
      await eventually(() => syncz()?.join() === 'SYNCED,SYNCED', 3000, 'istiod saw both ACKs');
      assert.equal(fx.istiod.xds.syncStatus().length, 1);
      assert.equal(fx.istiod.xds.syncStatus()[0]?.nodeName, 'node-1');

      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      const backendFile = join(fx.configDir, 'backend.yaml');
      await writeFile(backendFile, (await readFile(backendFile, 'utf8')).replace('podIP: 10.244.2.10', 'podIP: 10.244.2.11'));
      await eventually(() => store.findWorkloadByAddress('', ip('10.244.2.11')) !== undefined, 5000, 'backend moved');
      assert.equal(store.findWorkloadByAddress('', ip('10.244.2.10')), undefined);
      assert.deepEqual(changes.map((c) => c.workloads.updated.map((w) => w.uid)), [[BACKEND_UID]]);

      await rm(join(fx.configDir, 'frontend.yaml'));
      await eventually(() => store.findWorkload(FRONTEND_UID) === undefined, 5000, 'frontend removed');
      await eventually(() => store.findService('demo/frontend.demo.svc.cluster.local') === undefined, 5000, 'service removed');
      assert.deepEqual(store.findLocalWorkloads(), []);
      assert.equal(client.status().types[0]?.nacks, 0);
    });

    it('refuses an istiod whose certificate does not chain to the configured root', async () => {
      const registry = new Registry();
      const client = newClient({
        address: `127.0.0.1:${fx.istiod.ports.secureGrpc}`,
        tls: { rootPem: createTestPki().rootPem, serverName: ISTIOD_SERVER_NAME },
        token: NODE_ONE_TOKEN,
        store: new WorkloadStore('node-1'),
        registry,
        backoff: { initialMs: 20, maxMs: 100 },
      });
      client.start();
      await assert.rejects(client.waitForInitialSync(500), (e: { code?: string }) => e.code === 'XDS_CLIENT_SYNC_TIMEOUT');
      assert.equal(client.status().connected, false);
      assert.match(client.status().lastError ?? '', /UNAVAILABLE/);
      assert.ok((await counter(registry, 'istio_xds_connection_terminations_total', { reason: 'ConnectionError' })) >= 1);
    });

    it('keeps serving its state while istiod is away and resyncs when it returns on the same port', async () => {
      const extraFile = join(fx.configDir, 'extra.yaml');
      await writeFile(extraFile, EXTRA_POD);
      await eventually(() => JSON.stringify(fx.istiod.index.dump()).includes('extra-pod'), 5000, 'extra pod indexed');
      const store = new WorkloadStore('node-1');
      const registry = new Registry();
      const client = newClient({
        address: `127.0.0.1:${fx.istiod.ports.grpc}`,
        store,
        registry,
        backoff: { initialMs: 10, maxMs: 200 },
      });
      client.start();
      await client.waitForInitialSync(5000);
      const before = store.size;
      assert.ok(before.workloads >= 1);

      await fx.stop();
      await eventually(() => !client.status().connected, 5000, 'disconnect seen');
      // Reconnect attempts fail while istiod is down; the state stays in force.
      await eventually(() => client.status().streams >= 3, 5000, 'reconnect attempts');
      assert.deepEqual(store.size, before);
      assert.ok((await counter(registry, 'istio_xds_connection_terminations_total', { reason: 'ConnectionError' })) >= 1);

      // While istiod is down the backend gets a new IP; on return istiod learns what the agent
      // holds (initial_resource_versions) and sends just that change.
      const backendFile = join(fx.configDir, 'backend.yaml');
      await writeFile(backendFile, (await readFile(backendFile, 'utf8')).replace(/podIP: 10\.244\.2\.\d+/, 'podIP: 10.244.2.12'));
      // The extra pod leaves while istiod is down: only the versions the agent reports tell istiod to remove it.
      assert.equal(store.findWorkload(EXTRA_UID)?.name, 'extra-pod');
      await rm(extraFile);
      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      await fx.restart();
      await eventually(() => store.findWorkloadByAddress('', ip('10.244.2.12')) !== undefined, 5000, 'resync after restart');
      assert.equal(client.status().connected, true);
      await eventually(() => store.findWorkload(EXTRA_UID) === undefined, 5000, 'extra pod removed');
      assert.deepEqual(changes.flatMap((c) => c.workloads.updated.map((w) => w.uid)), [BACKEND_UID]);
      assert.deepEqual(changes.flatMap((c) => c.workloads.removed.map((w) => w.uid)), [EXTRA_UID]);
    });
  });

  describe('against a scripted server', () => {
    let ads: RecordingAds | undefined;
    afterEach(() => {
      ads?.stop();
      ads = undefined;
    });

    it('sends the node, the bearer token and, after a reconnect, the versions it holds without the rejected ones', async () => {
      const good = create(ResourceSchema, {
        name: 'Kubernetes//Pod/demo/a',
        version: 'v1',
        resource: create(AnySchema, { typeUrl: ADDRESS_TYPE_URL, value: addressBytes(workload('a', ip('10.0.0.1'))) }),
      });
      const bad = create(ResourceSchema, {
        name: 'Kubernetes//Pod/demo/b',
        version: 'v1',
        resource: create(AnySchema, { typeUrl: ADDRESS_TYPE_URL, value: addressBytes(workload('b', new Uint8Array(5))) }),
      });
      ads = new RecordingAds((typeUrl, stream) =>
        typeUrl === ADDRESS_TYPE_URL && stream === 1
          ? { resources: [good, bad], removedResources: [], removedResourceNames: [], systemVersionInfo: '', resourceErrors: [] }
          : { resources: [], removedResources: [], removedResourceNames: [], systemVersionInfo: '', resourceErrors: [] },
      );
      const port = await ads.listen();
      const store = new WorkloadStore('node-1');
      const client = newClient({ address: `127.0.0.1:${port}`, store, token: () => 'tok-123', clusterId: 'Kubernetes' });
      client.start();
      await client.waitForInitialSync(5000);

      const [first, answer] = ads.of(1, ADDRESS_TYPE_URL);
      assert.equal(first?.node?.id, 'ztunnel~10.0.1.2~ztunnel-abcde.istio-system~istio-system.svc.cluster.local');
      assert.deepEqual(first?.node?.metadata, {
        CLUSTER_ID: 'Kubernetes',
        NODE_NAME: 'node-1',
        NAME: 'ztunnel-abcde',
        NAMESPACE: 'istio-system',
        INSTANCE_IPS: '10.0.1.2',
      });
      assert.deepEqual(first?.resourceNamesSubscribe, []);
      assert.deepEqual(ads.of(1, AUTHORIZATION_TYPE_URL)[0]?.node?.id, first?.node?.id);
      assert.equal(answer?.responseNonce, 'n1');
      assert.equal(answer?.node, undefined, 'later requests omit the node');
      assert.equal(answer?.errorDetail?.message, 'Kubernetes//Pod/demo/b: addresses[0] is 5 bytes, not an IPv4 (4) or IPv6 (16) address');
      assert.equal(ads.requests[0]?.metadata.get('authorization')[0], 'Bearer tok-123');
      assert.equal(ads.requests[0]?.metadata.get('clusterid')[0], 'Kubernetes');
      assert.equal(store.findWorkload('Kubernetes//Pod/demo/a')?.name, 'a', 'the good resource applies');
      assert.equal(store.findWorkload('Kubernetes//Pod/demo/b'), undefined);

      // The server goes away and comes back on the same port.
      const statusBefore = client.status().streams;
      ads.stop();
      await eventually(() => client.status().streams > statusBefore, 5000, 'reconnect attempt');
      await ads.listen(port);
      await eventually(() => ads!.of(2, ADDRESS_TYPE_URL).length > 0, 5000, 'second stream');
      assert.deepEqual(ads.of(2, ADDRESS_TYPE_URL)[0]?.initialResourceVersions, { 'Kubernetes//Pod/demo/a': 'v1' });
      assert.equal(store.findWorkload('Kubernetes//Pod/demo/a')?.name, 'a');
    });

    it('reconnects with growing jittered delays while nothing listens, counting ConnectionError terminations', async () => {
      // A port that was just bound and released: nothing listens there.
      ads = new RecordingAds(() => undefined);
      const port = await ads.listen();
      ads.stop();
      const registry = new Registry();
      const client = newClient({
        address: `127.0.0.1:${port}`,
        store: new WorkloadStore('node-1'),
        registry,
        backoff: { initialMs: 20, maxMs: 400, random: () => 0.5 },
      });
      const started = Date.now();
      client.start();
      await eventually(() => client.status().streams >= 5, 5000, 'five attempts');
      // 20 + 40 + 80 + 160 ms between the five attempts at the fixed jitter.
      assert.ok(Date.now() - started >= 280, `attempts came after ${Date.now() - started} ms`);
      assert.ok((await counter(registry, 'istio_xds_connection_terminations_total', { reason: 'ConnectionError' })) >= 4);
      assert.equal(client.status().connected, false);
      assert.match(client.status().lastError ?? '', /UNAVAILABLE/);
      await assert.rejects(client.waitForInitialSync(50), (e: { code?: string }) => e.code === 'XDS_CLIENT_SYNC_TIMEOUT');
    });
  });

  describe('against the real XdsServer with resources it cannot use', () => {
    let source: InMemoryResourceSource;
    let server: XdsServer;
    let listeners: XdsListeners;
    before(async () => {
      source = new InMemoryResourceSource();
      server = new XdsServer({ source, debounceMs: 5 });
      listeners = await listenXds(server, { plaintextAddress: '127.0.0.1:0' });
    });
    after(async () => {
      await server.close(500);
      await listeners.close(500);
    });

    it('NACKs undecodable and invalid resources by name, applies the good ones and keeps the last good version', async () => {
      const uid = (n: string): string => `Kubernetes//Pod/demo/${n}`;
      source.batch(() => {
        source.set(ADDRESS_TYPE_URL, uid('good'), addressBytes(workload('good', ip('10.0.0.1'))));
        source.set(ADDRESS_TYPE_URL, uid('keep'), addressBytes(workload('keep', ip('10.0.0.2'))));
        source.set(ADDRESS_TYPE_URL, uid('garbage'), new Uint8Array([0x0a, 0xff, 0xff]));
        source.set(ADDRESS_TYPE_URL, uid('nouid'), addressBytes(create(WorkloadSchema, { name: 'nouid', addresses: [ip('10.0.0.3')] })));
      });
      const store = new WorkloadStore('node-1');
      const client = newClient({ address: `127.0.0.1:${listeners.plaintextPort}`, store });
      client.start();
      await client.waitForInitialSync(5000);
      assert.deepEqual(store.snapshot().workloads.map((w) => w.name), ['good', 'keep']);
      const address = client.status().types[0]!;
      assert.equal(address.nacks, 1);
      assert.deepEqual(address.rejected, [uid('garbage'), uid('nouid')]);
      assert.match(address.lastNack ?? '', /^Kubernetes\/\/Pod\/demo\/garbage: cannot decode istio\.workload\.Address: .+; Kubernetes\/\/Pod\/demo\/nouid: workload has no uid$/);
      await eventually(() => fx_lastNack(server) !== undefined, 3000, 'server saw the NACK');
      assert.equal(fx_lastNack(server), address.lastNack);

      // A good resource turned bad keeps its last good version; fixing a bad one ACKs again.
      source.set(ADDRESS_TYPE_URL, uid('keep'), addressBytes(workload('keep', new Uint8Array(3))));
      await eventually(() => client.status().types[0]!.nacks === 2, 3000, 'second NACK');
      assert.deepEqual(store.findWorkload(uid('keep'))!.addresses, ['10.0.0.2']);
      assert.equal(client.heldVersions(ADDRESS_TYPE_URL)[uid('keep')], undefined);
      source.batch(() => {
        source.set(ADDRESS_TYPE_URL, uid('keep'), addressBytes(workload('keep', ip('10.0.0.22'))));
        source.delete(ADDRESS_TYPE_URL, uid('garbage'));
        source.delete(ADDRESS_TYPE_URL, uid('nouid'));
      });
      await eventually(() => store.findWorkloadByAddress('', ip('10.0.0.22')) !== undefined, 3000, 'fixed resource applied');
      await eventually(() => fx_lastNack(server) === undefined, 3000, 'server saw the ACK');
      assert.deepEqual(client.status().types[0]!.rejected, []);
      assert.deepEqual(Object.keys(client.heldVersions(ADDRESS_TYPE_URL)).sort(), [uid('good'), uid('keep')]);
    });

    it('NACKs a policy it cannot compile by name, keeps its last good version and enforces the rest of the push, a DENY included', async () => {
      const policy = (name: string, action: Action): Uint8Array =>
        toBinary(AuthorizationSchema, create(AuthorizationSchema, { name, namespace: 'demo', scope: Scope.NAMESPACE, action, groups: [{ rules: [] }] }));
      source.set(AUTHORIZATION_TYPE_URL, 'demo/later-bad', policy('later-bad', Action.ALLOW));
      const store = new WorkloadStore('node-1');
      const client = newClient({ address: `127.0.0.1:${listeners.plaintextPort}`, store, registry: new Registry() });
      const conn = prepareConnection({ sourceIp: '10.0.0.7', destinationIp: '10.0.0.1', destinationPort: 80 });
      const demo = { namespace: 'demo', authorizationPolicies: [] };
      assert.equal(store.policies.check(demo, conn).reason, 'policies-not-synced', 'nothing is let through before the first push');
      client.start();
      await client.waitForInitialSync(5000);
      assert.equal(store.policies.check(demo, conn).policy, 'demo/later-bad');

      // One push: a valid DENY, and an update of the ALLOW that the agent cannot compile.
      source.batch(() => {
        source.set(AUTHORIZATION_TYPE_URL, 'demo/deny-all', policy('deny-all', Action.DENY));
        source.set(AUTHORIZATION_TYPE_URL, 'demo/later-bad', policy('later-bad', 7 as Action));
      });
      await eventually(() => client.status().types[1]!.nacks === 1, 3000, 'the push was NACKed');
      const authz = client.status().types[1]!;
      assert.deepEqual(authz.rejected, ['demo/later-bad']);
      assert.equal(authz.lastNack, 'demo/later-bad: cannot compile: authorization demo/later-bad: unknown action 7');
      await eventually(() => fx_lastNack(server, AUTHORIZATION_TYPE_URL) !== undefined, 3000, 'istiod saw the NACK');
      assert.equal(fx_lastNack(server, AUTHORIZATION_TYPE_URL), authz.lastNack);
      const decision = store.policies.check(demo, conn);
      assert.deepEqual([decision.kind, decision.policy], ['deny', 'demo/deny-all'], 'the DENY of the NACKed push is enforced');
      assert.equal(store.policies.find('demo/later-bad')?.action, 'allow', 'the last good version stays');
      assert.deepEqual(store.snapshot().policies.map((p) => p.key), ['demo/deny-all', 'demo/later-bad']);
      source.batch(() => {
        source.delete(AUTHORIZATION_TYPE_URL, 'demo/deny-all');
        source.delete(AUTHORIZATION_TYPE_URL, 'demo/later-bad');
      });
      await eventually(() => store.size.policies === 0, 3000, 'policies removed');
    });
  });
});

function fx_lastNack(server: XdsServer, typeUrl = ADDRESS_TYPE_URL): string | undefined {
  return server.syncStatus()[0]?.types.find((t) => t.typeUrl === typeUrl)?.lastNack;
}

