import assert from 'node:assert/strict';
import { decodeEndpointSlice } from '../../../../../../src/istiod/config/sources/kubernetes/endpoint-slices.js';

const VALID = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'backend-x1', namespace: 'demo', resourceVersion: '7', labels: { 'kubernetes.io/service-name': 'backend' } },
  addressType: 'IPv4',
  endpoints: [
    { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p1' } },
    { addresses: ['10.0.0.2'] },
  ],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }, {}],
};

describe('kubernetes source EndpointSlices', () => {
  it('decodes addresses, conditions, the pod reference (namespace defaulted), ports and the service name', () => {
    const r = decodeEndpointSlice(VALID);
    assert.equal(r.kind, 'valid');
    assert.deepEqual(r.kind === 'valid' ? r.slice : undefined, {
      namespace: 'demo',
      name: 'backend-x1',
      serviceName: 'backend',
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], ready: true, serving: true, terminating: false, nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'demo', name: 'p1' } },
        { addresses: ['10.0.0.2'] },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }, { protocol: 'TCP' }],
      resourceVersion: '7',
    });
  });

  const invalid: { name: string; patch: Record<string, unknown>; paths: string[] }[] = [
    { name: 'an unknown address type', patch: { addressType: 'IPX' }, paths: ['addressType'] },
    { name: 'an endpoint without addresses', patch: { endpoints: [{ addresses: [] }] }, paths: ['endpoints[0].addresses'] },
    { name: 'a non-string address', patch: { endpoints: [{ addresses: ['10.0.0.1', 5] }] }, paths: ['endpoints[0].addresses[1]'] },
    { name: 'a non-boolean condition', patch: { endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }] }, paths: ['endpoints[0].conditions.ready'] },
    { name: 'a port out of range', patch: { ports: [{ port: 70000 }] }, paths: ['ports[0].port'] },
    { name: 'an unknown protocol', patch: { ports: [{ port: 80, protocol: 'ICMP' }] }, paths: ['ports[0].protocol'] },
    { name: 'no namespace', patch: { metadata: { name: 'x' } }, paths: ['metadata.namespace'] },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name} at ${c.paths.join(', ')}`, () => {
      const r = decodeEndpointSlice({ ...VALID, ...c.patch });
      assert.equal(r.kind, 'invalid');
      assert.deepEqual(r.kind === 'invalid' ? r.errors.map((e) => e.path) : [], c.paths);
    });
  }
});
