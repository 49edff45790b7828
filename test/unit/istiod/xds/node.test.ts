import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '../../../../src/gen/envoy/config/core/v3/base_pb.js';
import { decodeNode, parseNodeId } from '../../../../src/istiod/xds/node.js';

describe('xds node ids', () => {
  const good = [
    {
      raw: 'ztunnel~10.244.1.7~ztunnel-x7k2p.istio-system~istio-system.svc.cluster.local',
      want: { type: 'ztunnel', ipAddress: '10.244.1.7', podName: 'ztunnel-x7k2p', namespace: 'istio-system' },
    },
    {
      raw: 'sidecar~10.0.0.5~web-1.default~default.svc.cluster.local',
      want: { type: 'sidecar', ipAddress: '10.0.0.5', podName: 'web-1', namespace: 'default' },
    },
    {
      raw: 'router~1.1.1.1~my.dotted.pod.gateways~gateways.svc.cluster.local',
      want: { type: 'router', ipAddress: '1.1.1.1', podName: 'my.dotted.pod', namespace: 'gateways' },
    },
    {
      raw: 'waypoint~fd00::1~nodots~team-a.svc.cluster.local',
      want: { type: 'waypoint', ipAddress: 'fd00::1', podName: 'nodots', namespace: 'team-a' },
    },
  ];
  for (const c of good) {
    it(`${c.raw}: parses to ${c.want.type} ${c.want.podName}.${c.want.namespace}`, () => {
      const n = parseNodeId(c.raw);
      assert.deepEqual(
        { type: n.type, ipAddress: n.ipAddress, podName: n.podName, namespace: n.namespace },
        c.want,
      );
    });
  }

  const bad = [
    { raw: 'ztunnel~10.0.0.1~pod.ns', why: 'three parts' },
    { raw: 'ztunnel~10.0.0.1~pod.ns~d~extra', why: 'five parts' },
    { raw: 'envoy~10.0.0.1~pod.ns~ns.svc.cluster.local', why: 'an unknown type' },
    { raw: 'ztunnel~~pod.ns~ns.svc.cluster.local', why: 'an empty IP' },
    { raw: 'ztunnel~10.0.0.1~~ns.svc.cluster.local', why: 'an empty id' },
  ];
  for (const c of bad) {
    it(`a node id with ${c.why} is refused with XDS_INVALID_NODE_ID`, () => {
      assert.throws(() => parseNodeId(c.raw), { code: 'XDS_INVALID_NODE_ID' });
    });
  }

  it('the node name comes from metadata NODE_NAME, falling back to the id', () => {
    const id = 'ztunnel~10.0.0.1~zt.istio-system~istio-system.svc.cluster.local';
    const withName = decodeNode(
      create(NodeSchema, { id, metadata: { NODE_NAME: 'worker-2', CLUSTER_ID: 'Kubernetes', N: 3 } }),
    );
    assert.equal(withName.nodeName, 'worker-2');
    assert.equal(withName.clusterId, 'Kubernetes');
    assert.deepEqual(withName.metadata, { NODE_NAME: 'worker-2', CLUSTER_ID: 'Kubernetes' });
    assert.equal(decodeNode(create(NodeSchema, { id })).nodeName, id);
  });

  it('a missing node is refused with XDS_MISSING_NODE', () => {
    assert.throws(() => decodeNode(undefined), { code: 'XDS_MISSING_NODE' });
    assert.throws(() => decodeNode(create(NodeSchema, {})), { code: 'XDS_MISSING_NODE' });
  });
});
