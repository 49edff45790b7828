import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { DeltaDiscoveryRequestSchema } from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { DeltaSubscription } from '../../../../src/istiod/xds/delta-state.js';
import { ADDRESS_TYPE_URL } from '../../../../src/istiod/xds/resource-source.js';
import { InMemoryResourceSource } from '../../../support/resource-source.js';

const T = ADDRESS_TYPE_URL;

function req(init: MessageInitShape<typeof DeltaDiscoveryRequestSchema> = {}) {
  return create(DeltaDiscoveryRequestSchema, { typeUrl: T, ...init });
}

function names(
  body: ReturnType<DeltaSubscription['takeResponse']>,
): { resources: string[]; removed: string[] } | undefined {
  if (body === undefined) return undefined;
  return { resources: body.resources.map((r) => r.name).sort(), removed: [...body.removed].sort() };
}

describe('delta xds subscription state', () => {
  let source: InMemoryResourceSource;

  beforeEach(() => {
    source = new InMemoryResourceSource();
    source.set(T, 'a', 'A', ['/10.0.0.1']);
    source.set(T, 'b', 'B', ['/10.0.0.2']);
  });

  const firstRequests = [
    { name: 'no names', init: {}, wildcard: true },
    { name: 'explicit "*"', init: { resourceNamesSubscribe: ['*'] }, wildcard: true },
    {
      name: '"*" subscribed and unsubscribed',
      init: { resourceNamesSubscribe: ['*'], resourceNamesUnsubscribe: ['*'] },
      wildcard: false,
    },
    { name: 'one name', init: { resourceNamesSubscribe: ['a'] }, wildcard: false },
  ];
  for (const c of firstRequests) {
    it(`a first request with ${c.name} is ${c.wildcard ? '' : 'not '}wildcard and owes a response`, () => {
      const s = new DeltaSubscription(T);
      assert.equal(s.applyRequest(req(c.init), true), 'initial');
      assert.equal(s.wildcard, c.wildcard);
      assert.notEqual(s.takeResponse(source), undefined);
    });
  }

  it('a wildcard response holds everything, and nothing is owed afterwards', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req(), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['a', 'b'], removed: [] });
    assert.equal(s.takeResponse(source), undefined);
  });

  it('initial_resource_versions skips what the client holds and removes what vanished', () => {
    const held = source.find(T, 'a')?.version ?? '';
    const s = new DeltaSubscription(T);
    s.applyRequest(req({ initialResourceVersions: { a: held, b: 'old', gone: 'v' } }), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['b'], removed: ['gone'] });
  });

  it('an unknown subscribed name is answered as removed; a known unchanged one is answered again', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req({ resourceNamesSubscribe: ['a'] }), true);
    s.takeResponse(source);
    s.recordSent('n1', '1');
    s.applyRequest(req({ responseNonce: 'n1', resourceNamesSubscribe: ['a', 'nope'] }), false);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['a'], removed: ['nope'] });
  });

  it('an alias subscription resolves to the resource and follows its changes and removal', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req({ resourceNamesSubscribe: ['/10.0.0.2'] }), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['b'], removed: [] });
    source.set(T, 'b', 'B2', ['/10.0.0.2']);
    assert.equal(s.enqueue(['b'], Date.now(), source, 100), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['b'], removed: [] });
    assert.equal(s.enqueue(['a'], Date.now(), source, 100), false);
    source.delete(T, 'b');
    assert.equal(s.enqueue(['b'], Date.now(), source, 100), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: [], removed: ['b'] });
  });

  it('a NACK keeps the acknowledged nonce and version; the next ACK clears the NACK', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req(), true);
    s.recordSent('n1', '1');
    assert.equal(s.applyRequest(req({ responseNonce: 'n1' }), false), 'ack');
    s.recordSent('n2', '2');
    assert.equal(
      s.applyRequest(req({ responseNonce: 'n2', errorDetail: { message: 'a: bad' } }), false),
      'nack',
    );
    assert.equal(s.nonceAcked, 'n1');
    assert.equal(s.versionAcked, '1');
    assert.equal(s.lastNack, 'a: bad');
    s.recordSent('n3', '3');
    assert.equal(s.applyRequest(req({ responseNonce: 'n3' }), false), 'ack');
    assert.equal(s.lastNack, undefined);
    assert.equal(s.versionAcked, '3');
  });

  it('a stale nonce does not count as ACK, yet its subscription changes apply', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req({ resourceNamesSubscribe: ['a'] }), true);
    s.takeResponse(source);
    s.recordSent('n1', '1');
    s.recordSent('n2', '2');
    assert.equal(s.applyRequest(req({ responseNonce: 'n1', resourceNamesSubscribe: ['b'] }), false), 'stale');
    assert.equal(s.nonceAcked, '');
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['b'], removed: [] });
  });

  it('changes past maxPending collapse into a full resync of the whole type', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req(), true);
    s.takeResponse(source);
    source.batch(() => {
      for (let i = 0; i < 10; i++) source.set(T, `n${i}`, `N${i}`);
    });
    s.enqueue(
      Array.from({ length: 10 }, (_, i) => `n${i}`),
      Date.now(),
      source,
      3,
    );
    assert.equal(s.pending.size, 0);
    assert.equal(s.fullResync, true);
    assert.equal(names(s.takeResponse(source))?.resources.length, 12);
  });

  it('repeated changes of one name stay one pending entry', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req(), true);
    s.takeResponse(source);
    for (let i = 0; i < 50; i++) {
      source.set(T, 'a', `A${i}`, ['/10.0.0.1']);
      s.enqueue(['a'], Date.now(), source, 100);
    }
    assert.equal(s.pending.size, 1);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['a'], removed: [] });
  });

  it('leaving wildcard keeps only explicitly subscribed names flowing', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req({ resourceNamesSubscribe: ['*', 'a'] }), true);
    s.takeResponse(source);
    s.recordSent('n1', '1');
    s.applyRequest(req({ responseNonce: 'n1', resourceNamesUnsubscribe: ['*'] }), false);
    assert.equal(s.wildcard, false);
    assert.equal(s.enqueue(['b'], Date.now(), source, 100), false);
    source.set(T, 'a', 'A2', ['/10.0.0.1']);
    assert.equal(s.enqueue(['a'], Date.now(), source, 100), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['a'], removed: [] });
  });

  it('a batch of changes made before the last full sync is not sent again', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req(), true);
    s.takeResponse(source, 7);
    assert.equal(s.enqueue(new Map([['a', 7]]), Date.now(), source, 100), false);
    assert.equal(
      s.enqueue(
        new Map([
          ['a', 5],
          ['b', 8],
        ]),
        Date.now(),
        source,
        100,
      ),
      true,
    );
    assert.deepEqual([...s.pending], ['b']);
  });

  it('a wildcard subscription keeps no per-name state once synced, and sends removals', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req({ initialResourceVersions: { gone: 'v' } }), true);
    assert.deepEqual(names(s.takeResponse(source)), { resources: ['a', 'b'], removed: ['gone'] });
    assert.equal(s.known.size, 0);
    source.delete(T, 'a');
    s.enqueue(['a'], Date.now(), source, 100);
    assert.deepEqual(names(s.takeResponse(source)), { resources: [], removed: ['a'] });
  });

  it('removals survive a collapse into a full resync of a wildcard subscription', () => {
    const s = new DeltaSubscription(T);
    s.applyRequest(req(), true);
    s.takeResponse(source);
    source.batch(() => {
      source.delete(T, 'a');
      for (let i = 0; i < 5; i++) source.set(T, `n${i}`, `N${i}`);
    });
    s.enqueue(['a', 'n0', 'n1', 'n2', 'n3', 'n4'], Date.now(), source, 2);
    assert.equal(s.fullResync, true);
    const body = names(s.takeResponse(source));
    assert.deepEqual(body?.removed, ['a']);
    assert.deepEqual(body?.resources, ['b', 'n0', 'n1', 'n2', 'n3', 'n4']);
  });
});
