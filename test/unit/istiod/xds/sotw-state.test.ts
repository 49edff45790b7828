import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema } from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { SotwSubscription } from '../../../../src/istiod/xds/sotw-state.js';
import { AUTHORIZATION_TYPE_URL } from '../../../../src/istiod/xds/resource-source.js';
import { InMemoryResourceSource } from '../../../support/resource-source.js';

const T = AUTHORIZATION_TYPE_URL;

function req(init: MessageInitShape<typeof DiscoveryRequestSchema> = {}) {
  return create(DiscoveryRequestSchema, { typeUrl: T, ...init });
}

describe('SotW xds subscription state', () => {
  let source: InMemoryResourceSource;

  beforeEach(() => {
    source = new InMemoryResourceSource();
    source.set(T, 'ns/a', 'A');
    source.set(T, 'ns/b', 'B');
  });

  it('the version follows the content: unchanged state is not resent, changed state is', () => {
    const s = new SotwSubscription(T);
    s.applyRequest(req(), true);
    const first = s.takeResponse(source);
    assert.equal(first?.resources.length, 2);
    s.recordSent('n1', first?.versionInfo ?? '');
    s.enqueue(['ns/a'], Date.now(), source);
    assert.equal(s.takeResponse(source), undefined);
    source.set(T, 'ns/a', 'A2');
    s.enqueue(['ns/a'], Date.now(), source);
    const second = s.takeResponse(source);
    assert.notEqual(second?.versionInfo, first?.versionInfo);
  });

  const requests = [
    { name: 'an ACK with the current nonce', init: { responseNonce: 'n1', versionInfo: 'v1' }, want: 'ack' },
    {
      name: 'a NACK',
      init: { responseNonce: 'n1', versionInfo: 'v0', errorDetail: { message: 'bad' } },
      want: 'nack',
    },
    { name: 'an old nonce', init: { responseNonce: 'n0', versionInfo: 'v0' }, want: 'stale' },
    { name: 'no nonce', init: {}, want: 'subscription' },
  ];
  for (const c of requests) {
    it(`${c.name} is classified as ${c.want}`, () => {
      const s = new SotwSubscription(T);
      s.applyRequest(req(), true);
      s.recordSent('n1', 'v1');
      assert.equal(s.applyRequest(req(c.init), false), c.want);
    });
  }

  it('a change of the requested names owes a response', () => {
    const s = new SotwSubscription(T);
    s.applyRequest(req({ resourceNames: ['ns/a'] }), true);
    const r = s.takeResponse(source);
    s.recordSent('n1', r?.versionInfo ?? '');
    s.applyRequest(
      req({ responseNonce: 'n1', versionInfo: r?.versionInfo ?? '', resourceNames: ['ns/a', 'ns/b'] }),
      false,
    );
    assert.equal(s.takeResponse(source)?.resources.length, 2);
  });
});
