import assert from 'node:assert/strict';
import { AuthzError, peerIdentity, prepareConnection } from '../../../../src/ztunnel/authz/index.js';

describe('ztunnel/authz connections', () => {
  const identities: [string, { principal: string; namespace: string; serviceAccount: string | undefined }][] = [
    ['cluster.local/ns/web/sa/frontend', { principal: 'cluster.local/ns/web/sa/frontend', namespace: 'web', serviceAccount: 'frontend' }],
    ['spiffe://cluster.local/ns/web/sa/frontend', { principal: 'cluster.local/ns/web/sa/frontend', namespace: 'web', serviceAccount: 'frontend' }],
    ['td/ns//sa/x', { principal: 'td/ns//sa/x', namespace: '', serviceAccount: undefined }],
    ['some-other-id', { principal: 'some-other-id', namespace: '', serviceAccount: undefined }],
  ];
  for (const [text, want] of identities) {
    it(`splits "${text}"`, () => {
      assert.deepEqual({ ...peerIdentity(text) }, want);
    });
  }

  it('takes the namespace from the identity unless given', () => {
    assert.equal(prepareConnection({ sourceIp: '10.0.0.1', sourcePrincipal: 'td/ns/a/sa/b', destinationIp: '10.0.0.2', destinationPort: 1 }).namespace, 'a');
    assert.equal(
      prepareConnection({ sourceIp: '10.0.0.1', sourcePrincipal: 'td/ns/a/sa/b', sourceNamespace: 'c', destinationIp: '10.0.0.2', destinationPort: 1 }).namespace,
      'c',
    );
  });

  it('a plaintext peer (no or empty principal) has no identity and namespace ""', () => {
    for (const sourcePrincipal of [undefined, '']) {
      const c = prepareConnection({ sourceIp: '10.0.0.1', ...(sourcePrincipal === undefined ? {} : { sourcePrincipal }), sourceNamespace: 'x', destinationIp: '10.0.0.2', destinationPort: 1 });
      assert.deepEqual({ identity: c.identity, namespace: c.namespace }, { identity: undefined, namespace: '' });
    }
  });

  const invalid: [string, { sourceIp: string; destinationIp: string; destinationPort: number }, string][] = [
    ['a source IP that is not one', { sourceIp: '10.0.0', destinationIp: '10.0.0.2', destinationPort: 80 }, 'AUTHZ_INVALID_ADDRESS'],
    ['a destination IP that is not one', { sourceIp: '10.0.0.1', destinationIp: 'x', destinationPort: 80 }, 'AUTHZ_INVALID_ADDRESS'],
    ['a port above 65535', { sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 65536 }, 'AUTHZ_INVALID_PORT'],
    ['a fractional port', { sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 80.5 }, 'AUTHZ_INVALID_PORT'],
  ];
  for (const [name, attrs, code] of invalid) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(() => prepareConnection(attrs), (e: unknown) => e instanceof AuthzError && e.code === code);
    });
  }
});
