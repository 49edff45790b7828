import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  LoadBalancing_Scope,
  ServiceSchema,
  TunnelProtocol,
  WorkloadSchema,
  WorkloadStatus,
  type Service,
} from '../../../../src/gen/istio/workload/workload_pb.js';
import { WorkloadStore, ADDRESS_TYPE_URL, type Workload } from '../../../../src/ztunnel/state/index.js';
import { decodeWorkload } from '../../../../src/ztunnel/xds/index.js';
import { pickEndpoint, routeOutbound } from '../../../../src/ztunnel/proxy/route.js';

const ip = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));
const SVC = 'demo/backend.demo.svc.cluster.local';

function workload(name: string, addr: string, extra: MessageInitShape<typeof WorkloadSchema> = {}): Workload {
  return decodeWorkload(create(WorkloadSchema, {
    uid: `Kubernetes//Pod/demo/${name}`,
    name,
    namespace: 'demo',
    addresses: [ip(addr)],
    tunnelProtocol: TunnelProtocol.HBONE,
    serviceAccount: name.split('-')[0],
    node: 'node-2',
    ...extra,
  }));
}

function backendService(extra: MessageInitShape<typeof ServiceSchema> = {}): Service {
  return create(ServiceSchema, {
    name: 'backend',
    namespace: 'demo',
    hostname: 'backend.demo.svc.cluster.local',
    addresses: [{ network: '', address: ip('10.96.0.20') }],
    ports: [{ servicePort: 80, targetPort: 8080 }],
    ...extra,
  });
}

const endpointOf = (port = 8080) => ({ services: { [SVC]: { ports: [{ servicePort: 80, targetPort: port }] } } });

function storeWith(workloads: Workload[], services: Service[]): WorkloadStore {
  const store = new WorkloadStore('node-1');
  store.applyDelta({
    typeUrl: ADDRESS_TYPE_URL,
    upserts: [
      ...workloads.map((w) => ({ kind: 'workload' as const, workload: w })),
      ...services.map((s) => ({ kind: 'service' as const, service: s })),
    ],
    removals: [],
  });
  return store;
}

/** A deterministic sequence of "random" numbers. */
const sequence = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

describe('ztunnel/proxy/route: outbound routing decisions', () => {
  const frontend = workload('frontend-1', '10.244.1.10', { node: 'node-1' });

  it('routes a Service VIP to an endpoint through HBONE, on the endpoint target port, expecting its identity', () => {
    const b1 = workload('backend-1', '10.244.2.10', endpointOf(8080));
    const store = storeWith([frontend, b1], [backendService()]);
    const r = routeOutbound(store, frontend, { ip: '10.96.0.20', port: 80 });
    assert.equal(r.kind, 'hbone');
    if (r.kind !== 'hbone') return;
    assert.deepEqual(r.target, { ip: '10.244.2.10', port: 8080 });
    assert.deepEqual(r.tunnel, { ip: '10.244.2.10', port: 15008 });
    assert.deepEqual(r.identities, ['spiffe://cluster.local/ns/demo/sa/backend']);
    assert.deepEqual(r.service, { hostname: 'backend.demo.svc.cluster.local', name: 'backend', namespace: 'demo' });
  });

  it('adds the service subject alt names to the identities accepted', () => {
    const b1 = workload('backend-1', '10.244.2.10', endpointOf());
    const store = storeWith([b1], [backendService({ subjectAltNames: ['spiffe://other.td/ns/x/sa/y'] })]);
    const r = routeOutbound(store, frontend, { ip: '10.96.0.20', port: 80 });
    assert.deepEqual(r.kind === 'hbone' && r.identities, ['spiffe://cluster.local/ns/demo/sa/backend', 'spiffe://other.td/ns/x/sa/y']);
  });

  it('spreads VIP connections over healthy endpoints and never picks an unhealthy one', () => {
    const eps = [
      workload('backend-1', '10.244.2.10', endpointOf()),
      workload('backend-2', '10.244.2.11', endpointOf()),
      workload('backend-3', '10.244.2.12', { ...endpointOf(), status: WorkloadStatus.UNHEALTHY }),
    ];
    const store = storeWith(eps, [backendService()]);
    const seen = new Map<string, number>();
    const random = sequence(0.1, 0.6, 0.3, 0.9);
    for (let i = 0; i < 8; i++) {
      const r = routeOutbound(store, frontend, { ip: '10.96.0.20', port: 80 }, random);
      assert.equal(r.kind, 'hbone');
      if (r.kind === 'hbone') seen.set(r.target.ip, (seen.get(r.target.ip) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['10.244.2.10', '10.244.2.11']);
  });

  it('uses unhealthy endpoints when the health policy is ALLOW_ALL', () => {
    const only = workload('backend-3', '10.244.2.12', { ...endpointOf(), status: WorkloadStatus.UNHEALTHY });
    const store = storeWith([only], [backendService({ loadBalancing: { healthPolicy: LoadBalancing_HealthPolicy.ALLOW_ALL } })]);
    assert.equal(routeOutbound(store, frontend, { ip: '10.96.0.20', port: 80 }).kind, 'hbone');
  });

  it('answers no-healthy-upstream for a VIP without eligible endpoints', () => {
    const store = storeWith([], [backendService()]);
    const r = routeOutbound(store, frontend, { ip: '10.96.0.20', port: 80 });
    assert.equal(r.kind, 'no-healthy-upstream');
  });

  it('passes a PASSTHROUGH service straight to the original destination', () => {
    const store = storeWith([workload('backend-1', '10.244.2.10', endpointOf())], [backendService({ loadBalancing: { mode: LoadBalancing_Mode.PASSTHROUGH } })]);
    assert.deepEqual(routeOutbound(store, frontend, { ip: '10.96.0.20', port: 80 }), {
      kind: 'passthrough',
      target: { ip: '10.96.0.20', port: 80 },
      service: { hostname: 'backend.demo.svc.cluster.local', name: 'backend', namespace: 'demo' },
    });
  });

  it('routes a workload IP to that workload on the same port', () => {
    const b1 = workload('backend-1', '10.244.2.10', endpointOf());
    const r = routeOutbound(storeWith([b1], []), frontend, { ip: '10.244.2.10', port: 9000 });
    assert.equal(r.kind, 'hbone');
    assert.deepEqual(r.kind === 'hbone' && r.target, { ip: '10.244.2.10', port: 9000 });
  });

  it('sends plain TCP to a known workload that is not captured (tunnel NONE)', () => {
    const legacy = workload('legacy-1', '10.244.3.5', { tunnelProtocol: TunnelProtocol.NONE });
    const r = routeOutbound(storeWith([legacy], []), frontend, { ip: '10.244.3.5', port: 80 });
    assert.equal(r.kind, 'direct');
  });

  it('passes unknown destinations through', () => {
    assert.deepEqual(routeOutbound(storeWith([], []), frontend, { ip: '192.0.2.7', port: 443 }), {
      kind: 'passthrough',
      target: { ip: '192.0.2.7', port: 443 },
      service: undefined,
    });
  });

  it('prefers endpoints on the same node with a NODE routing preference, and STRICT refuses others', () => {
    const near = workload('backend-1', '10.244.1.20', { ...endpointOf(), node: 'node-1' });
    const far = workload('backend-2', '10.244.2.10', { ...endpointOf(), node: 'node-2' });
    const failover = backendService({ loadBalancing: { routingPreference: [LoadBalancing_Scope.NODE], mode: LoadBalancing_Mode.FAILOVER } });
    const s1 = storeWith([near, far], [failover]);
    for (const x of [0, 0.5, 0.99]) {
      const r = routeOutbound(s1, frontend, { ip: '10.96.0.20', port: 80 }, () => x);
      assert.deepEqual(r.kind === 'hbone' && r.target.ip, '10.244.1.20');
    }
    const strict = backendService({ loadBalancing: { routingPreference: [LoadBalancing_Scope.NODE], mode: LoadBalancing_Mode.STRICT } });
    assert.equal(routeOutbound(storeWith([far], [strict]), frontend, { ip: '10.96.0.20', port: 80 }).kind, 'no-healthy-upstream');
    assert.equal(routeOutbound(storeWith([far], [failover]), frontend, { ip: '10.96.0.20', port: 80 }).kind, 'hbone');
  });

  it('weights endpoints by capacity', () => {
    const heavy = workload('backend-1', '10.244.2.10', { ...endpointOf(), capacity: 3 });
    const light = workload('backend-2', '10.244.2.11', endpointOf());
    const svc = backendService();
    const eps = [
      { workload: heavy, ports: [{ servicePort: 80, targetPort: 8080 }] },
      { workload: light, ports: [{ servicePort: 80, targetPort: 8080 }] },
    ] as never;
    // total weight 4: [0, 3) is heavy, [3, 4) is light
    assert.equal(pickEndpoint(svc, eps, 80, frontend, () => 0.7)?.endpoint.workload.name, 'backend-1');
    assert.equal(pickEndpoint(svc, eps, 80, frontend, () => 0.8)?.endpoint.workload.name, 'backend-2');
  });

  it('expects the identity the decoder gave the workload, with the defaults istiod leaves empty', () => {
    const w = workload('anon-1', '10.244.2.30', { serviceAccount: '', trustDomain: '' });
    const r = routeOutbound(storeWith([w], []), frontend, { ip: '10.244.2.30', port: 80 });
    assert.deepEqual(r.kind === 'hbone' ? r.identities : [], ['spiffe://cluster.local/ns/demo/sa/default']);
  });
});
