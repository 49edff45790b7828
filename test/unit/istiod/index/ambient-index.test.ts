import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { AuthorizationSchema } from '../../../../src/gen/istio/security/authorization_pb.js';
import { AddressSchema } from '../../../../src/gen/istio/workload/workload_pb.js';
import { IndexError } from '../../../../src/istiod/index/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WORKLOAD_TYPE_URL,
} from '../../../../src/istiod/xds/resource-source.js';
import {
  authorizationPolicy,
  meshOfSize,
  namespace,
  peerAuthentication,
  pod,
  service,
  serviceEntry,
  workloadEntry,
} from '../../../support/config-objects.js';
import { fixture } from './fixture.js';

const uid = (ns: string, name: string) => `Kubernetes//Pod/${ns}/${name}`;

/** Two namespaces, two apps, one service each. */
function world() {
  return fixture([
    namespace('ns1'),
    namespace('ns2'),
    pod({
      name: 'a1',
      namespace: 'ns1',
      labels: { app: 'a' },
      ip: '10.0.1.1',
      node: 'n1',
      serviceAccount: 'sa-a',
    }),
    pod({
      name: 'a2',
      namespace: 'ns1',
      labels: { app: 'a' },
      ip: '10.0.1.2',
      node: 'n1',
      serviceAccount: 'sa-a',
    }),
    pod({ name: 'b1', namespace: 'ns1', labels: { app: 'b' }, ip: '10.0.1.3', node: 'n2' }),
    pod({ name: 'c1', namespace: 'ns2', labels: { app: 'a' }, ip: '10.0.2.1', node: 'n2' }),
    service({ name: 'svc-a', namespace: 'ns1', selector: { app: 'a' }, clusterIP: '10.96.0.1' }),
    service({ name: 'svc-b', namespace: 'ns1', selector: { app: 'b' }, clusterIP: '10.96.0.2' }),
  ]);
}

describe('istiod/index/ambient-index', () => {
  describe('as an xDS resource source', () => {
    it('serves encoded Address resources named by uid and "<ns>/<hostname>", with IP aliases', () => {
      const { index } = world();
      const all = index.resources(ADDRESS_TYPE_URL);
      assert.deepEqual([...all.keys()].sort(), [
        uid('ns1', 'a1'),
        uid('ns1', 'a2'),
        uid('ns1', 'b1'),
        uid('ns2', 'c1'),
        'ns1/svc-a.ns1.svc.cluster.local',
        'ns1/svc-b.ns1.svc.cluster.local',
      ]);
      const w = all.get(uid('ns1', 'a1'));
      assert.deepEqual(w?.aliases, ['/10.0.1.1']);
      const decoded = fromBinary(AddressSchema, w?.value ?? new Uint8Array());
      assert.equal(decoded.type.case, 'workload');
      assert.equal(decoded.type.value?.uid, uid('ns1', 'a1'));
      assert.equal(index.find(ADDRESS_TYPE_URL, '/10.0.1.1')?.name, uid('ns1', 'a1'));
      assert.equal(index.find(ADDRESS_TYPE_URL, '/10.96.0.2')?.name, 'ns1/svc-b.ns1.svc.cluster.local');
      assert.equal(index.find(ADDRESS_TYPE_URL, '/10.9.9.9'), undefined);
    });

    it('serves Authorization resources named "<ns>/<name>"', () => {
      const { index } = fixture([
        authorizationPolicy({ name: 'deny-all', namespace: 'ns1' }, { action: 'DENY', rules: [{}] }),
      ]);
      const r = index.find(AUTHORIZATION_TYPE_URL, 'ns1/deny-all');
      assert.equal(fromBinary(AuthorizationSchema, r?.value ?? new Uint8Array()).name, 'deny-all');
    });

    it('versions are content hashes: equal bytes, equal version', () => {
      const one = world().index.resources(ADDRESS_TYPE_URL);
      const two = world().index.resources(ADDRESS_TYPE_URL);
      for (const [name, r] of one) assert.equal(two.get(name)?.version, r.version);
      assert.notEqual(one.get(uid('ns1', 'a1'))?.version, one.get(uid('ns1', 'a2'))?.version);
    });

    it('rejects a type URL it does not serve with INDEX_UNKNOWN_TYPE_URL', () => {
      const { index } = world();
      assert.deepEqual(index.typeUrls, [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]);
      assert.throws(
        () => index.resources(WORKLOAD_TYPE_URL),
        (e: unknown) => e instanceof IndexError && e.code === 'INDEX_UNKNOWN_TYPE_URL',
      );
    });

    it('never finds a host-network workload by IP (it shares the node IP)', () => {
      const { index } = fixture([
        pod({ name: 'host', namespace: 'ns', ip: '192.168.1.10', hostNetwork: true }),
        pod({ name: 'other-host', namespace: 'ns', ip: '192.168.1.10', hostNetwork: true }),
      ]);
      assert.equal(index.workloads().length, 2);
      assert.equal(index.findWorkloadByIp('192.168.1.10'), undefined);
      assert.equal(index.find(ADDRESS_TYPE_URL, '/192.168.1.10'), undefined);
    });

    it('a pod and a WorkloadEntry may share an IP; lookups by IP find one of them', () => {
      const { index } = fixture([
        pod({ name: 'p', namespace: 'ns', ip: '10.7.0.1' }),
        workloadEntry({ name: 'we', namespace: 'ns' }, { address: '10.7.0.1' }),
      ]);
      assert.ok(['p', 'we'].includes(index.findWorkloadByIp('10.7.0.1')?.name ?? ''));
    });

    it('finds workloads by IP and lists the identities on a node', () => {
      const { index, store } = world();
      assert.equal(index.findWorkloadByIp('10.0.2.1')?.name, 'c1');
      assert.equal(index.findWorkloadByIp('10.0.2.1', 'other-network'), undefined);
      assert.deepEqual([...index.identitiesOnNode('n1')], ['spiffe://cluster.local/ns/ns1/sa/sa-a']);
      assert.deepEqual([...index.identitiesOnNode('n2')].sort(), [
        'spiffe://cluster.local/ns/ns1/sa/default',
        'spiffe://cluster.local/ns/ns2/sa/default',
      ]);
      store.delete('Pod', 'ns1', 'a1');
      assert.deepEqual([...index.identitiesOnNode('n1')], ['spiffe://cluster.local/ns/ns1/sa/sa-a']);
      store.delete('Pod', 'ns1', 'a2');
      assert.deepEqual([...index.identitiesOnNode('n1')], []);
    });
  });

  describe('incremental updates report only what changed', () => {
    const cases: {
      name: string;
      change: (f: ReturnType<typeof world>) => void;
      address?: { updated: string[]; removed: string[] };
      authz?: { updated: string[]; removed: string[] };
    }[] = [
      {
        name: 'a pod turning unready',
        change: (f) =>
          f.store.upsert(
            pod({
              name: 'a1',
              namespace: 'ns1',
              labels: { app: 'a' },
              ip: '10.0.1.1',
              node: 'n1',
              serviceAccount: 'sa-a',
              ready: false,
            }),
          ),
        address: { updated: [uid('ns1', 'a1')], removed: [] },
      },
      {
        name: 'a pod deleted',
        change: (f) => f.store.delete('Pod', 'ns1', 'b1'),
        address: { updated: [], removed: [uid('ns1', 'b1')] },
      },
      {
        name: 'an annotation that changes no resource',
        change: (f) =>
          f.store.upsert(
            pod({
              name: 'b1',
              namespace: 'ns1',
              labels: { app: 'b' },
              ip: '10.0.1.3',
              node: 'n2',
              annotations: { note: 'x' },
            }),
          ),
      },
      {
        name: 'a new service selecting app=a in ns1',
        change: (f) =>
          f.store.upsert(
            service({ name: 'svc-a2', namespace: 'ns1', selector: { app: 'a' }, clusterIP: '10.96.0.3' }),
          ),
        address: {
          updated: [uid('ns1', 'a1'), uid('ns1', 'a2'), 'ns1/svc-a2.ns1.svc.cluster.local'],
          removed: [],
        },
      },
      {
        name: 'a service selector moving from app=b to app=a',
        change: (f) =>
          f.store.upsert(
            service({ name: 'svc-b', namespace: 'ns1', selector: { app: 'a' }, clusterIP: '10.96.0.2' }),
          ),
        address: { updated: [uid('ns1', 'a1'), uid('ns1', 'a2'), uid('ns1', 'b1')], removed: [] },
      },
      {
        name: 'a service VIP change (no workload affected)',
        change: (f) =>
          f.store.upsert(
            service({ name: 'svc-b', namespace: 'ns1', selector: { app: 'b' }, clusterIP: '10.96.0.9' }),
          ),
        address: { updated: ['ns1/svc-b.ns1.svc.cluster.local'], removed: [] },
      },
      {
        name: 'a service deleted',
        change: (f) => f.store.delete('Service', 'ns1', 'svc-b'),
        address: { updated: [uid('ns1', 'b1')], removed: ['ns1/svc-b.ns1.svc.cluster.local'] },
      },
      {
        name: 'a namespace enrolled in ambient',
        change: (f) => f.store.upsert(namespace('ns2', { 'istio.io/dataplane-mode': 'ambient' })),
        address: { updated: [uid('ns2', 'c1')], removed: [] },
      },
      {
        name: 'a selector policy for app=a in ns1',
        change: (f) =>
          f.store.upsert(
            authorizationPolicy(
              { name: 'p', namespace: 'ns1' },
              { selector: { matchLabels: { app: 'a' } }, rules: [{}] },
            ),
          ),
        address: { updated: [uid('ns1', 'a1'), uid('ns1', 'a2')], removed: [] },
        authz: { updated: ['ns1/p'], removed: [] },
      },
      {
        name: 'a root-namespace selector policy for app=a',
        change: (f) =>
          f.store.upsert(
            authorizationPolicy(
              { name: 'p', namespace: 'istio-system' },
              { selector: { matchLabels: { app: 'a' } }, rules: [{}] },
            ),
          ),
        address: { updated: [uid('ns1', 'a1'), uid('ns1', 'a2'), uid('ns2', 'c1')], removed: [] },
        authz: { updated: ['istio-system/p'], removed: [] },
      },
      {
        name: 'a namespace-wide policy',
        change: (f) => f.store.upsert(authorizationPolicy({ name: 'p', namespace: 'ns1' }, { rules: [{}] })),
        authz: { updated: ['ns1/p'], removed: [] },
      },
      {
        name: 'a mesh-wide STRICT PeerAuthentication',
        change: (f) =>
          f.store.upsert(
            peerAuthentication({ name: 'default', namespace: 'istio-system' }, { mtls: { mode: 'STRICT' } }),
          ),
        address: {
          updated: [uid('ns1', 'a1'), uid('ns1', 'a2'), uid('ns1', 'b1'), uid('ns2', 'c1')],
          removed: [],
        },
        authz: { updated: ['istio-system/istio_converted_static_strict'], removed: [] },
      },
      {
        name: 'a namespace STRICT PeerAuthentication',
        change: (f) =>
          f.store.upsert(
            peerAuthentication({ name: 'default', namespace: 'ns2' }, { mtls: { mode: 'STRICT' } }),
          ),
        address: { updated: [uid('ns2', 'c1')], removed: [] },
        authz: { updated: ['istio-system/istio_converted_static_strict'], removed: [] },
      },
    ];
    for (const c of cases) {
      const want = [
        ...(c.address === undefined ? [] : [{ typeUrl: ADDRESS_TYPE_URL, ...c.address }]),
        ...(c.authz === undefined ? [] : [{ typeUrl: AUTHORIZATION_TYPE_URL, ...c.authz }]),
      ];
      it(`${c.name}: ${want.length === 0 ? 'no notification' : want.map((w) => `${w.updated.length} updated, ${w.removed.length} removed`).join('; ')}`, () => {
        const f = world();
        c.change(f);
        assert.deepEqual(f.changes, want.length === 0 ? [] : [want]);
      });
    }

    it('a store batch is one notification', () => {
      const f = world();
      f.store.batch(() => {
        f.store.delete('Pod', 'ns1', 'a1');
        f.store.upsert(pod({ name: 'a3', namespace: 'ns1', labels: { app: 'a' }, ip: '10.0.1.9' }));
      });
      assert.deepEqual(f.changes, [
        [{ typeUrl: ADDRESS_TYPE_URL, updated: [uid('ns1', 'a3')], removed: [uid('ns1', 'a1')] }],
      ]);
    });

    it('a delete and re-add of identical content inside one batch reports nothing', () => {
      const f = world();
      const same = pod({ name: 'b1', namespace: 'ns1', labels: { app: 'b' }, ip: '10.0.1.3', node: 'n2' });
      f.store.batch(() => {
        f.store.delete('Pod', 'ns1', 'b1');
        f.store.upsert(same);
      });
      assert.deepEqual(f.changes, []);
    });

    it('a ServiceEntry change rebuilds its services and its endpoint workloads', () => {
      const f = fixture([
        serviceEntry(
          { name: 'se', namespace: 'ns' },
          { hosts: ['x.example.com'], resolution: 'STATIC', endpoints: [{ address: '10.5.0.1' }] },
        ),
      ]);
      f.store.upsert(
        serviceEntry(
          { name: 'se', namespace: 'ns' },
          { hosts: ['y.example.com'], resolution: 'STATIC', endpoints: [{ address: '10.5.0.1' }] },
        ),
      );
      assert.deepEqual(f.changes, [
        [
          {
            typeUrl: ADDRESS_TYPE_URL,
            updated: ['Kubernetes/networking.istio.io/ServiceEntry/ns/se/10.5.0.1', 'ns/y.example.com'],
            removed: ['ns/x.example.com'],
          },
        ],
      ]);
    });

    it('stops notifying after close()', () => {
      const f = world();
      f.index.close();
      f.store.delete('Pod', 'ns1', 'a1');
      assert.deepEqual(f.changes, []);
    });

    it('ends in the same state as an index built from scratch', () => {
      const f = world();
      f.store.upsert(
        service({ name: 'svc-b', namespace: 'ns1', selector: { app: 'a' }, clusterIP: '10.96.0.2' }),
      );
      f.store.upsert(namespace('ns1', { 'istio.io/dataplane-mode': 'ambient' }));
      f.store.upsert(
        authorizationPolicy(
          { name: 'p', namespace: 'istio-system' },
          { selector: { matchLabels: { app: 'a' } } },
        ),
      );
      f.store.upsert(
        peerAuthentication(
          { name: 'wl', namespace: 'ns1' },
          {
            selector: { matchLabels: { app: 'a' } },
            mtls: { mode: 'STRICT' },
            portLevelMtls: { '80': { mode: 'PERMISSIVE' } },
          },
        ),
      );
      f.store.delete('Pod', 'ns1', 'a2');
      const fresh = fixture(f.store.all());
      for (const t of [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]) {
        const a = f.index.resources(t);
        const b = fresh.index.resources(t);
        assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
        for (const [name, r] of a) assert.equal(r.version, b.get(name)?.version, `${t} ${name}`);
      }
    });
  });
});

describe('istiod/index/ambient-index dump', () => {
  it('renders workloads, services and authorizations as proto JSON sorted by name', () => {
    const { index } = fixture([
      pod({ name: 'z', namespace: 'ns', ip: '10.0.0.2' }),
      pod({ name: 'a', namespace: 'ns', ip: '10.0.0.1' }),
      service({ name: 's', namespace: 'ns' }),
      authorizationPolicy({ name: 'p', namespace: 'ns' }, {}),
    ]);
    const d = index.dump();
    assert.deepEqual(
      d.workloads.map((w) => (w as { uid: string }).uid),
      [uid('ns', 'a'), uid('ns', 'z')],
    );
    assert.deepEqual(d.services, [
      {
        name: 's',
        namespace: 'ns',
        hostname: 's.ns.svc.cluster.local',
        addresses: [{ address: 'CmAAAQ==' }],
        ports: [{ servicePort: 80, targetPort: 80 }],
        canonical: true,
      },
    ]);
    assert.deepEqual(d.authorizations, [{ name: 'p', namespace: 'ns', scope: 'NAMESPACE' }]);
  });
});

describe('istiod/index/ambient-index at a moderate scale', () => {
  it('a synthetic mesh yields one workload per pod, each endpoint of exactly its service, on its node', () => {
    const size = { namespaces: 5, services: 50, workloads: 500, nodes: 10 };
    const { index } = fixture(meshOfSize(size));
    const workloads = index.workloads();
    assert.equal(workloads.length, 500);
    assert.equal(index.services().length, 50);
    for (const w of workloads) {
      const app = w.canonicalName;
      const svc = Number(app.slice(3));
      assert.deepEqual(Object.keys(w.services), [`ns${svc % 5}/svc${svc}.ns${svc % 5}.svc.cluster.local`]);
      assert.deepEqual(
        Object.values(w.services)[0]?.ports.map((p) => [p.servicePort, p.targetPort]),
        [[80, 8080]],
      );
    }
    // Pods i ≡ 3 (mod 10) run apps 3, 13, 23, 33 and 43: five service accounts.
    assert.deepEqual(
      [...index.identitiesOnNode('node3')].sort(),
      [3, 13, 23, 33, 43].map((a) => `spiffe://cluster.local/ns/ns${a % 5}/sa/sa${a}`).sort(),
    );
  });
});
