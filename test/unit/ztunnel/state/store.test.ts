import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import {
  NetworkMode,
  ServiceSchema,
  TunnelProtocol,
  WorkloadSchema,
  type Service,
} from '../../../../src/gen/istio/workload/workload_pb.js';
import { Action, AuthorizationSchema, Scope } from '../../../../src/gen/istio/security/authorization_pb.js';
import type { CompiledPolicy } from '../../../../src/ztunnel/authz/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WorkloadStore,
  ipText,
  type StoreChange,
  type Workload,
} from '../../../../src/ztunnel/state/index.js';
import { decodePolicy, decodeWorkload } from '../../../../src/ztunnel/xds/index.js';

const NODE = 'node-1';

function ip(text: string): Uint8Array {
  if (text.includes(':')) {
    const out = new Uint8Array(16);
    const [head, tail] = text.split('::') as [string, string | undefined];
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    groups.forEach((g, i) => {
      const v = parseInt(g, 16);
      out[i * 2] = v >> 8;
      out[i * 2 + 1] = v & 0xff;
    });
    return out;
  }
  return new Uint8Array(text.split('.').map(Number));
}

function workload(name: string, o: { ips?: string[]; node?: string; services?: Record<string, [number, number][]>; network?: string; hostNetwork?: boolean } = {}): Workload {
  return decodeWorkload(create(WorkloadSchema, {
    uid: `Kubernetes//Pod/demo/${name}`,
    name,
    namespace: 'demo',
    addresses: (o.ips ?? []).map(ip),
    network: o.network ?? '',
    node: o.node ?? NODE,
    serviceAccount: name,
    tunnelProtocol: TunnelProtocol.HBONE,
    networkMode: o.hostNetwork === true ? NetworkMode.HOST_NETWORK : NetworkMode.STANDARD,
    services: Object.fromEntries(
      Object.entries(o.services ?? {}).map(([k, ports]) => [
        k,
        { ports: ports.map(([servicePort, targetPort]) => ({ servicePort, targetPort })) },
      ]),
    ),
  }));
}

function service(name: string, vips: string[], ns = 'demo'): Service {
  return create(ServiceSchema, {
    name,
    namespace: ns,
    hostname: `${name}.${ns}.svc.cluster.local`,
    addresses: vips.map((v) => ({ network: '', address: ip(v) })),
    ports: [{ servicePort: 80, targetPort: 8080 }],
  });
}

function policy(name: string, ns = 'demo'): CompiledPolicy {
  return decodePolicy(create(AuthorizationSchema, { name, namespace: ns, scope: Scope.NAMESPACE, action: Action.ALLOW }));
}

function putWorkloads(store: WorkloadStore, ...ws: Workload[]): StoreChange {
  return store.applyDelta({ typeUrl: ADDRESS_TYPE_URL, upserts: ws.map((w) => ({ kind: 'workload', workload: w })), removals: [] });
}

function names(ws: readonly { name: string }[]): string[] {
  return ws.map((w) => w.name);
}

describe('WorkloadStore', () => {
  describe('indexes', () => {
    it('finds a workload by uid and by network address, IPv4 and IPv6', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('a', { ips: ['10.0.0.1', 'fd00::1'] }), workload('b', { ips: ['10.0.0.2'], network: 'net-2' }));
      assert.equal(store.findWorkload('Kubernetes//Pod/demo/a')?.name, 'a');
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.1'))?.name, 'a');
      assert.equal(store.findWorkloadByAddress('', ip('fd00::1'))?.name, 'a');
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.2')), undefined, 'another network does not match');
      assert.equal(store.findWorkloadByAddress('net-2', ip('10.0.0.2'))?.name, 'b');
    });

    it('never indexes host-network workloads by address', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('h', { ips: ['192.168.1.5'], hostNetwork: true }));
      assert.equal(store.findWorkloadByAddress('', ip('192.168.1.5')), undefined);
      assert.equal(store.findWorkload('Kubernetes//Pod/demo/h')?.name, 'h');
    });

    it('finds services by VIP, by <ns>/<hostname> and by bare hostname across namespaces', () => {
      const store = new WorkloadStore(NODE);
      store.applyDelta({
        typeUrl: ADDRESS_TYPE_URL,
        upserts: [
          { kind: 'service', service: service('web', ['10.96.0.10']) },
          { kind: 'service', service: { ...service('web', ['10.96.0.11'], 'other'), hostname: 'web.demo.svc.cluster.local' } },
        ],
        removals: [],
      });
      assert.equal(store.findServiceByVip('', ip('10.96.0.10'))?.namespace, 'demo');
      assert.equal(store.findServiceByVip('', ip('10.96.0.11'))?.namespace, 'other');
      assert.equal(store.findService('demo/web.demo.svc.cluster.local')?.name, 'web');
      assert.deepEqual(
        store.findServicesByHostname('web.demo.svc.cluster.local').map((s) => s.namespace),
        ['demo', 'other'],
      );
    });

    it('derives service endpoints from the workloads\' services maps, with their per-service ports', () => {
      const store = new WorkloadStore(NODE);
      const key = 'demo/web.demo.svc.cluster.local';
      putWorkloads(
        store,
        workload('w2', { ips: ['10.0.0.2'], services: { [key]: [[80, 9090]] } }),
        workload('w1', { ips: ['10.0.0.1'], services: { [key]: [[80, 8080]] } }),
        workload('x', { ips: ['10.0.0.3'] }),
      );
      const eps = store.findEndpoints(key);
      assert.deepEqual(names(eps.map((e) => e.workload)), ['w1', 'w2']);
      assert.deepEqual(eps.map((e) => e.ports.map((p) => p.targetPort)), [[8080], [9090]]);
      assert.deepEqual(store.stagedServiceKeys(), [key], 'endpoints without their service are staged');
      store.applyDelta({ typeUrl: ADDRESS_TYPE_URL, upserts: [{ kind: 'service', service: service('web', ['10.96.0.10']) }], removals: [] });
      assert.deepEqual(store.stagedServiceKeys(), []);
    });

    it('keeps the set of workloads on its own node', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('here', { node: NODE }), workload('there', { node: 'node-2' }), workload('nowhere', { node: '' }));
      assert.deepEqual(names(store.findLocalWorkloads()), ['here']);
      assert.equal(store.isLocal('Kubernetes//Pod/demo/there'), false);
    });
  });

  describe('rewrites and removals', () => {
    it('drops the old address, endpoint and node entries when a workload is rewritten', () => {
      const store = new WorkloadStore(NODE);
      const key = 'demo/web.demo.svc.cluster.local';
      putWorkloads(store, workload('a', { ips: ['10.0.0.1'], services: { [key]: [[80, 8080]] } }));
      const change = putWorkloads(store, workload('a', { ips: ['10.0.0.9'], node: 'node-2' }));
      assert.deepEqual(names(change.workloads.updated), ['a']);
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.1')), undefined);
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.9'))?.name, 'a');
      assert.deepEqual(store.findEndpoints(key), []);
      assert.deepEqual(store.findLocalWorkloads(), []);
      assert.deepEqual(store.stagedServiceKeys(), []);
    });

    it('drops a service\'s old VIP when the service is rewritten', () => {
      const store = new WorkloadStore(NODE);
      const put = (s: Service): StoreChange =>
        store.applyDelta({ typeUrl: ADDRESS_TYPE_URL, upserts: [{ kind: 'service', service: s }], removals: [] });
      put(service('web', ['10.96.0.10']));
      put(service('web', ['10.96.0.99']));
      assert.equal(store.findServiceByVip('', ip('10.96.0.10')), undefined);
      assert.equal(store.findServiceByVip('', ip('10.96.0.99'))?.name, 'web');
    });

    it('keeps an address found while two workloads claim it and one leaves', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('old', { ips: ['10.0.0.5'] }), workload('new', { ips: ['10.0.0.5'] }));
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.5'))?.name, 'new');
      store.applyDelta({ typeUrl: ADDRESS_TYPE_URL, upserts: [], removals: ['Kubernetes//Pod/demo/new'] });
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.5'))?.name, 'old');
    });

    it('removes by xDS name: workload uid, <ns>/<hostname>, <ns>/<policy>; unknown names are ignored', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('a', { ips: ['10.0.0.1'] }));
      store.applyDelta({ typeUrl: ADDRESS_TYPE_URL, upserts: [{ kind: 'service', service: service('web', ['10.96.0.10']) }], removals: [] });
      store.applyDelta({ typeUrl: AUTHORIZATION_TYPE_URL, upserts: [{ kind: 'policy', policy: policy('p') }], removals: [] });
      const addr = store.applyDelta({
        typeUrl: ADDRESS_TYPE_URL,
        upserts: [],
        removals: ['Kubernetes//Pod/demo/a', 'demo/web.demo.svc.cluster.local', 'demo/p', 'nope'],
      });
      assert.deepEqual(names(addr.workloads.removed), ['a']);
      assert.deepEqual(names(addr.services.removed), ['web']);
      assert.deepEqual(addr.policies.removed, [], 'an Address delta never removes a policy');
      assert.equal(store.findPolicy('demo/p')?.name, 'p');
      store.applyDelta({ typeUrl: AUTHORIZATION_TYPE_URL, upserts: [], removals: ['demo/p'] });
      assert.equal(store.findPolicy('demo/p'), undefined);
      assert.deepEqual(store.size, { workloads: 0, services: 0, policies: 0 });
      assert.equal(store.findWorkloadByAddress('', ip('10.0.0.1')), undefined);
      assert.equal(store.findServiceByVip('', ip('10.96.0.10')), undefined);
    });
  });

  describe('atomic apply and notification', () => {
    it('notifies once per delta with what was added, updated and removed', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('keep', { ips: ['10.0.0.1'] }), workload('gone', { ips: ['10.0.0.2'] }));
      const seen: StoreChange[] = [];
      let sawState: string | undefined;
      store.onChange((c) => {
        seen.push(c);
        // Listeners run after the whole push is in place.
        sawState = `${store.findWorkload('Kubernetes//Pod/demo/gone') === undefined}/${store.findWorkload('Kubernetes//Pod/demo/new')?.name}`;
      });
      store.applyDelta({
        typeUrl: ADDRESS_TYPE_URL,
        upserts: [
          { kind: 'workload', workload: workload('keep', { ips: ['10.0.0.11'] }) },
          { kind: 'workload', workload: workload('new', { ips: ['10.0.0.3'] }) },
        ],
        removals: ['Kubernetes//Pod/demo/gone'],
      });
      assert.equal(seen.length, 1);
      assert.deepEqual(names(seen[0]!.workloads.added), ['new']);
      assert.deepEqual(names(seen[0]!.workloads.updated), ['keep']);
      assert.deepEqual(names(seen[0]!.workloads.removed), ['gone']);
      assert.equal(sawState, 'true/new');
    });

    it('does not notify when a push rewrites entries with identical content', () => {
      const store = new WorkloadStore(NODE);
      putWorkloads(store, workload('a', { ips: ['10.0.0.1'] }));
      let calls = 0;
      store.onChange(() => calls++);
      const change = putWorkloads(store, workload('a', { ips: ['10.0.0.1'] }));
      assert.equal(calls, 0);
      assert.deepEqual(change.workloads.updated, []);
    });

    it('tells every listener even if one throws, then reports the failure with STATE_LISTENER_FAILED', () => {
      const store = new WorkloadStore(NODE);
      let second = 0;
      store.onChange(() => {
        throw new Error('boom');
      });
      store.onChange(() => second++);
      assert.throws(() => putWorkloads(store, workload('a')), (e: { code?: string }) => e.code === 'STATE_LISTENER_FAILED');
      assert.equal(second, 1);
      assert.equal(store.findWorkload('Kubernetes//Pod/demo/a')?.name, 'a', 'the push stays applied');
    });

    const invalid = [
      { name: 'an unknown type URL', typeUrl: 'type.googleapis.com/x', upserts: [], code: 'STATE_UNKNOWN_TYPE' },
      { name: 'a policy in an Address delta', typeUrl: ADDRESS_TYPE_URL, upserts: [{ kind: 'policy' as const, policy: policy('p') }], code: 'STATE_INVALID_RESOURCE' },
      { name: 'a workload in an Authorization delta', typeUrl: AUTHORIZATION_TYPE_URL, upserts: [{ kind: 'workload' as const, workload: workload('w') }], code: 'STATE_INVALID_RESOURCE' },
    ];
    for (const c of invalid) {
      it(`refuses ${c.name} whole: ${c.code}`, () => {
        const store = new WorkloadStore(NODE);
        assert.throws(() => store.applyDelta({ typeUrl: c.typeUrl, upserts: c.upserts, removals: [] }), (e: { code?: string }) => e.code === c.code);
        assert.deepEqual(store.size, { workloads: 0, services: 0, policies: 0 });
      });
    }
  });

  describe('dump', () => {
    it('renders workloads, services with endpoints and policies sorted, camelCase, addresses as text', () => {
      const store = new WorkloadStore(NODE);
      const key = 'demo/web.demo.svc.cluster.local';
      putWorkloads(store, workload('b', { ips: ['10.0.0.2'], services: { [key]: [[80, 8080]] } }), workload('a', { ips: ['fd00::1'] }));
      store.applyDelta({ typeUrl: ADDRESS_TYPE_URL, upserts: [{ kind: 'service', service: service('web', ['10.96.0.10']) }], removals: [] });
      store.applyDelta({ typeUrl: AUTHORIZATION_TYPE_URL, upserts: [{ kind: 'policy', policy: policy('z') }, { kind: 'policy', policy: policy('a') }], removals: [] });
      const dump = JSON.parse(JSON.stringify(store.dump())) as {
        workloads: { name: string; workloadIps: string[]; protocol: string; trustDomain: string; status: string; services: unknown }[];
        services: { vips: string[]; ports: unknown; endpoints: Record<string, unknown> }[];
        policies: { name: string; scope: string; action: string }[];
      };
      assert.deepEqual(dump.workloads.map((w) => [w.name, w.workloadIps]), [['a', ['fd00::1']], ['b', ['10.0.0.2']]]);
      assert.equal(dump.workloads[1]!.protocol, 'HBONE');
      assert.equal(dump.workloads[1]!.trustDomain, 'cluster.local');
      assert.equal(dump.workloads[1]!.status, 'Healthy');
      assert.deepEqual(dump.workloads[1]!.services, { [key]: { '80': 8080 } });
      assert.deepEqual(dump.services[0]!.vips, ['/10.96.0.10']);
      assert.deepEqual(dump.services[0]!.ports, { '80': 8080 });
      assert.deepEqual(dump.services[0]!.endpoints, {
        'Kubernetes//Pod/demo/b': { workloadUid: 'Kubernetes//Pod/demo/b', service: key, port: { '80': 8080 } },
      });
      assert.deepEqual(dump.policies.map((p) => [p.name, p.scope, p.action]), [['a', 'Namespace', 'Allow'], ['z', 'Namespace', 'Allow']]);
    });
  });
});

describe('ipText', () => {
  const cases = [
    { bytes: ip('10.1.2.3'), want: '10.1.2.3' },
    { bytes: ip('fd00::1'), want: 'fd00::1' },
    { bytes: ip('2001:db8:0:0:1:0:0:1'), want: '2001:db8::1:0:0:1' },
    { bytes: new Uint8Array(16), want: '::' },
    { bytes: new Uint8Array(5), want: undefined },
  ];
  for (const c of cases) {
    it(`renders ${c.bytes.length} bytes as ${c.want ?? 'nothing'}`, () => {
      assert.equal(ipText(c.bytes), c.want);
    });
  }
});

describe('WorkloadStore: the first Address push', () => {
  it('is not synced at first; waiters resume when it is marked, and later waits resolve at once', async () => {
    const store = new WorkloadStore('node-1');
    assert.equal(store.addressesSynced, false);
    const waits = [store.whenAddressesSynced(new AbortController().signal), store.whenAddressesSynced(new AbortController().signal)];
    assert.equal(store.waitingForAddresses, 2);
    store.markAddressesSynced();
    assert.deepEqual(await Promise.all(waits), [true, true]);
    assert.equal(store.waitingForAddresses, 0);
    assert.equal(await store.whenAddressesSynced(AbortSignal.abort()), true);
  });

  it('a wait whose signal aborts resolves false and is dropped; an aborted signal never waits', async () => {
    const store = new WorkloadStore('node-1');
    const giveUp = new AbortController();
    const wait = store.whenAddressesSynced(giveUp.signal);
    giveUp.abort();
    assert.equal(await wait, false);
    assert.equal(store.waitingForAddresses, 0);
    assert.equal(await store.whenAddressesSynced(AbortSignal.abort()), false);
    assert.equal(store.waitingForAddresses, 0);
  });
});
