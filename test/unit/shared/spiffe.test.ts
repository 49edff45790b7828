import assert from 'node:assert/strict';
import { formatSpiffeId, parseSpiffeId, SpiffeError } from '../../../src/shared/spiffe.js';

describe('shared/spiffe', () => {
  it('formats and parses an Istio identity round trip', () => {
    const id = { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount: 'frontend' };
    const uri = formatSpiffeId(id);
    assert.equal(uri, 'spiffe://cluster.local/ns/demo/sa/frontend');
    assert.deepEqual(parseSpiffeId(uri), id);
  });

  const bad = ['cluster.local/ns/a/sa/b', 'spiffe://td/ns/a', 'spiffe://td/namespace/a/sa/b', 'spiffe://td/ns//sa/b'];
  for (const uri of bad) {
    it(`rejects "${uri}" with SPIFFE_INVALID`, () => {
      assert.throws(() => parseSpiffeId(uri), (e: unknown) => e instanceof SpiffeError && e.code === 'SPIFFE_INVALID');
    });
  }
});
