import assert from 'node:assert/strict';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { ResourceSchema, type Resource } from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import {
  AddressSchema,
  NetworkMode,
  ServiceSchema,
  TunnelProtocol,
  WorkloadSchema,
  WorkloadStatus,
  WorkloadType,
} from '../../../../src/gen/istio/workload/workload_pb.js';
import { Action, AuthorizationSchema, Scope } from '../../../../src/gen/istio/security/authorization_pb.js';
import { prepareConnection } from '../../../../src/ztunnel/authz/index.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/ztunnel/state/index.js';
import { decodeResources, decodeWorkload, nackMessage } from '../../../../src/ztunnel/xds/index.js';
import { agentNode, agentNodeId } from '../../../../src/ztunnel/xds/index.js';

function res(name: string, typeUrl: string, value: Uint8Array, version = 'v1'): Resource {
  return create(ResourceSchema, { name, version, resource: create(AnySchema, { typeUrl, value }) });
}

function wl(init: MessageInitShape<typeof WorkloadSchema>): Uint8Array {
  return toBinary(AddressSchema, create(AddressSchema, { type: { case: 'workload', value: create(WorkloadSchema, init) } }));
}

function svc(init: MessageInitShape<typeof ServiceSchema>): Uint8Array {
  return toBinary(AddressSchema, create(AddressSchema, { type: { case: 'service', value: create(ServiceSchema, init) } }));
}

function authz(init: MessageInitShape<typeof AuthorizationSchema>): Uint8Array {
  return toBinary(AuthorizationSchema, create(AuthorizationSchema, init));
}

const V4 = new Uint8Array([10, 0, 0, 1]);

describe('decodeResources', () => {
  it('accepts a workload, a service and keeps the versions istiod gave them', () => {
    const out = decodeResources(ADDRESS_TYPE_URL, [
      res('c//Pod/ns/a', ADDRESS_TYPE_URL, wl({ uid: 'c//Pod/ns/a', addresses: [V4] }), 'x1'),
      res('ns/s.ns.svc', ADDRESS_TYPE_URL, svc({ namespace: 'ns', hostname: 's.ns.svc', addresses: [{ address: V4 }] }), 'x2'),
    ]);
    assert.deepEqual(out.rejected, []);
    assert.deepEqual(out.accepted.map((a) => [a.name, a.version, a.resource.kind]), [
      ['c//Pod/ns/a', 'x1', 'workload'],
      ['ns/s.ns.svc', 'x2', 'service'],
    ]);
  });

  const rejected = [
    { name: 'undecodable bytes', r: res('n', ADDRESS_TYPE_URL, new Uint8Array([0x0a, 0xff])), reason: /^cannot decode istio\.workload\.Address: / },
    { name: 'a body of another type', r: res('n', AUTHORIZATION_TYPE_URL, wl({ uid: 'n' })), reason: /carries type\.googleapis\.com\/istio\.security\.Authorization, not / },
    { name: 'no body', r: create(ResourceSchema, { name: 'n' }), reason: /^resource has no body$/ },
    { name: 'an empty Address', r: res('n', ADDRESS_TYPE_URL, new Uint8Array()), reason: /neither a workload nor a service/ },
    { name: 'a workload without uid', r: res('n', ADDRESS_TYPE_URL, wl({ name: 'x' })), reason: /^workload has no uid$/ },
    { name: 'a uid that is not the resource name', r: res('n', ADDRESS_TYPE_URL, wl({ uid: 'm' })), reason: /uid "m" is not the resource name/ },
    { name: 'a 5-byte address', r: res('n', ADDRESS_TYPE_URL, wl({ uid: 'n', addresses: [new Uint8Array(5)] })), reason: /^addresses\[0\] is 5 bytes/ },
    { name: 'a services key without namespace', r: res('n', ADDRESS_TYPE_URL, wl({ uid: 'n', services: { web: { ports: [] } } })), reason: /services key "web"/ },
    { name: 'a service without hostname', r: res('ns/', ADDRESS_TYPE_URL, svc({ namespace: 'ns' })), reason: /^service has no hostname$/ },
    { name: 'a service VIP of 3 bytes', r: res('ns/h', ADDRESS_TYPE_URL, svc({ namespace: 'ns', hostname: 'h', addresses: [{ address: new Uint8Array(3) }] })), reason: /^addresses\[0\]\.address is 3 bytes/ },
    { name: 'a service named after another', r: res('ns/x', ADDRESS_TYPE_URL, svc({ namespace: 'ns', hostname: 'h' })), reason: /service "ns\/h" is not the resource name/ },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name} by name with a reason`, () => {
      const out = decodeResources(ADDRESS_TYPE_URL, [c.r]);
      assert.deepEqual(out.accepted, []);
      assert.equal(out.rejected.length, 1);
      assert.match(out.rejected[0]!.reason, c.reason);
    });
  }

  it('checks policies: name, and CIDR lengths in matches', () => {
    const ok = res('ns/p', AUTHORIZATION_TYPE_URL, authz({ name: 'p', namespace: 'ns' }));
    const wide = res('ns/q', AUTHORIZATION_TYPE_URL, authz({
      name: 'q',
      namespace: 'ns',
      groups: [{ rules: [{ matches: [{ sourceIps: [{ address: V4, length: 33 }] }] }] }],
    }));
    const out = decodeResources(AUTHORIZATION_TYPE_URL, [ok, wide]);
    assert.deepEqual(out.accepted.map((a) => a.name), ['ns/p']);
    assert.deepEqual(out.rejected, [{ name: 'ns/q', reason: 'groups[0].rules[0].matches[0].sourceIps[0].length 33 is longer than the address' }]);
  });

  it('compiles policies while decoding: one it cannot compile is rejected by name, a valid DENY beside it applies', () => {
    const deny = res('ns/deny', AUTHORIZATION_TYPE_URL, authz({ name: 'deny', namespace: 'ns', scope: Scope.NAMESPACE, action: Action.DENY, groups: [{ rules: [] }] }));
    const badAction = res('ns/odd', AUTHORIZATION_TYPE_URL, authz({ name: 'odd', namespace: 'ns', action: 7 as Action }));
    const badScope = res('ns/far', AUTHORIZATION_TYPE_URL, authz({ name: 'far', namespace: 'ns', scope: 9 as Scope }));
    const out = decodeResources(AUTHORIZATION_TYPE_URL, [badAction, deny, badScope]);
    assert.deepEqual(out.rejected, [
      { name: 'ns/odd', reason: 'cannot compile: authorization ns/odd: unknown action 7' },
      { name: 'ns/far', reason: 'cannot compile: authorization ns/far: unknown scope 9' },
    ]);
    const accepted = out.accepted[0]?.resource;
    assert.equal(accepted?.kind, 'policy');
    if (accepted?.kind !== 'policy') return;
    // What the store receives is already the matcher.
    const conn = prepareConnection({ sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 80 });
    assert.deepEqual([accepted.policy.key, accepted.policy.action, accepted.policy.matchingGroup(conn)], ['ns/deny', 'deny', 0]);
  });

  it('keeps the last occurrence of a name sent twice', () => {
    const out = decodeResources(ADDRESS_TYPE_URL, [
      res('n', ADDRESS_TYPE_URL, wl({ uid: 'n', addresses: [new Uint8Array(5)] })),
      res('n', ADDRESS_TYPE_URL, wl({ uid: 'n', addresses: [V4] }), 'v2'),
    ]);
    assert.deepEqual(out.rejected, []);
    assert.deepEqual(out.accepted.map((a) => a.version), ['v2']);
  });

  it('joins rejections as "<name>: <reason>; ..." for the NACK detail', () => {
    assert.equal(nackMessage([{ name: 'a', reason: 'r1' }, { name: 'b', reason: 'r2' }]), 'a: r1; b: r2');
  });
});

describe('agentNode', () => {
  it('builds the node as ztunnel sends it', () => {
    const a = { ip: '10.0.0.7', podName: 'ztunnel-x', podNamespace: 'istio-system', nodeName: 'n1', metadata: { EXTRA: 'y' } };
    assert.equal(agentNodeId(a), 'ztunnel~10.0.0.7~ztunnel-x.istio-system~istio-system.svc.cluster.local');
    assert.deepEqual(agentNode(a).metadata, { EXTRA: 'y', NODE_NAME: 'n1', NAME: 'ztunnel-x', NAMESPACE: 'istio-system', INSTANCE_IPS: '10.0.0.7' });
  });
});

describe('decodeWorkload', () => {
  it("applies Istio's defaults once: an empty trust domain is cluster.local, an empty service account default", () => {
    const w = decodeWorkload(create(WorkloadSchema, { uid: 'c//Pod/demo/a', namespace: 'demo' }));
    assert.deepEqual(w.identity, { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount: 'default' });
    assert.equal(w.identityUri, 'spiffe://cluster.local/ns/demo/sa/default');
    assert.equal(w.capacity, 1);
  });

  it('keeps a named identity, canonical address text and the enums as names', () => {
    const v6 = new Uint8Array(16);
    v6[0] = 0xfd;
    v6[15] = 1;
    const w = decodeWorkload(create(WorkloadSchema, {
      uid: 'c//Pod/demo/a',
      namespace: 'demo',
      trustDomain: 'example.org',
      serviceAccount: 'web',
      addresses: [V4, v6],
      tunnelProtocol: TunnelProtocol.HBONE,
      networkMode: NetworkMode.HOST_NETWORK,
      workloadType: WorkloadType.JOB,
      status: WorkloadStatus.UNHEALTHY,
      capacity: 3,
      services: { 'demo/web.demo.svc': { ports: [{ servicePort: 80, targetPort: 8080 }] } },
    }));
    assert.equal(w.identityUri, 'spiffe://example.org/ns/demo/sa/web');
    assert.deepEqual(w.addresses, ['10.0.0.1', 'fd00::1']);
    assert.deepEqual([w.tunnel, w.networkMode, w.workloadType, w.status, w.capacity], ['hbone', 'host-network', 'job', 'unhealthy', 3]);
    assert.deepEqual(w.services, { 'demo/web.demo.svc': [{ servicePort: 80, targetPort: 8080 }] });
  });

  const unknown = [
    { field: 'tunnelProtocol', init: { tunnelProtocol: 9 as TunnelProtocol } },
    { field: 'networkMode', init: { networkMode: 9 as NetworkMode } },
    { field: 'workloadType', init: { workloadType: 9 as WorkloadType } },
    { field: 'status', init: { status: 9 as WorkloadStatus } },
  ];
  for (const c of unknown) {
    it(`rejects an unknown ${c.field} with XDS_RESOURCE_INVALID naming it`, () => {
      assert.throws(
        () => decodeWorkload(create(WorkloadSchema, { uid: 'c//Pod/demo/a', ...c.init })),
        (e: { code?: string; message?: string }) => e.code === 'XDS_RESOURCE_INVALID' && e.message === `${c.field} 9 is not a known value`,
      );
    });
  }
});
