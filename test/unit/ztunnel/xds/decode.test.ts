import assert from 'node:assert/strict';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { ResourceSchema, type Resource } from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { AddressSchema, ServiceSchema, WorkloadSchema } from '../../../../src/gen/istio/workload/workload_pb.js';
import { AuthorizationSchema } from '../../../../src/gen/istio/security/authorization_pb.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/ztunnel/state/index.js';
import { decodeResources, nackMessage } from '../../../../src/ztunnel/xds/index.js';
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
