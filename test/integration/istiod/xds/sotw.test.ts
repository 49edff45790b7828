import assert from 'node:assert/strict';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { eventually, metricValue, startHarness, type Harness } from './harness.js';

describe('xds server: state-of-the-world ADS over gRPC', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
    h.source.batch(() => {
      h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a', ['/10.0.0.1']);
      h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b', 'workload-b', ['/10.0.0.2']);
      h.source.set(AUTHORIZATION_TYPE_URL, 'default/allow', 'policy');
    });
  });

  afterEach(async () => {
    await h.stop();
  });

  it('a wildcard request gets the full state with a version and a nonce, and its ACK marks it SYNCED', async () => {
    const c = h.sotw();
    c.request(ADDRESS_TYPE_URL);
    const resp = await c.next();
    assert.equal(resp.typeUrl, ADDRESS_TYPE_URL);
    assert.equal(resp.resources.length, 2);
    assert.ok(resp.resources.every((r) => r.typeUrl === ADDRESS_TYPE_URL));
    assert.deepEqual(resp.resources.map((r) => Buffer.from(r.value).toString()).sort(), [
      'workload-a',
      'workload-b',
    ]);
    assert.notEqual(resp.versionInfo, '');
    assert.notEqual(resp.nonce, '');
    c.ack(resp);
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.state === 'SYNCED');
    const t = h.server.syncStatus()[0]?.types[0];
    assert.equal(t?.versionAcked, resp.versionInfo);
    assert.equal(h.server.syncStatus()[0]?.protocol, 'sotw');
    await c.expectNone(100);
  });

  it('a change resends the full state under a new version', async () => {
    const c = h.sotw();
    c.request(ADDRESS_TYPE_URL);
    const first = await c.next();
    c.ack(first);
    h.source.delete(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b');
    const second = await c.next();
    assert.equal(second.resources.length, 1);
    assert.notEqual(second.versionInfo, first.versionInfo);
    assert.notEqual(second.nonce, first.nonce);
  });

  it('named requests get only those names (aliases resolve), and a change elsewhere sends nothing', async () => {
    const c = h.sotw();
    c.request(ADDRESS_TYPE_URL, ['/10.0.0.2']);
    const resp = await c.next();
    assert.equal(resp.resources.length, 1);
    assert.equal(Buffer.from(resp.resources[0]?.value ?? []).toString(), 'workload-b');
    c.ack(resp, ['/10.0.0.2']);
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a-2', ['/10.0.0.1']);
    await c.expectNone(100);
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b', 'workload-b-2', ['/10.0.0.2']);
    const push = await c.next();
    assert.equal(Buffer.from(push.resources[0]?.value ?? []).toString(), 'workload-b-2');
  });

  it('a NACK keeps the last accepted version, records the detail and is counted', async () => {
    const c = h.sotw();
    c.request(AUTHORIZATION_TYPE_URL);
    const first = await c.next();
    c.ack(first);
    h.source.set(AUTHORIZATION_TYPE_URL, 'default/allow', 'bad-policy');
    const bad = await c.next();
    c.nack(bad, first.versionInfo, 'default/allow: bad rule');
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.lastNack !== undefined);
    const t = h.server.syncStatus()[0]?.types[0];
    assert.equal(t?.lastNack, 'default/allow: bad rule');
    assert.equal(t?.versionAcked, first.versionInfo);
    assert.equal(t?.state, 'STALE');
    assert.equal(await metricValue(h.registry, 'pilot_total_xds_rejects', { type: 'wads' }), 1);
  });

  it('a request with a stale nonce is ignored and counted as expired', async () => {
    const c = h.sotw();
    c.request(ADDRESS_TYPE_URL);
    const first = await c.next();
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a-2', ['/10.0.0.1']);
    await c.next();
    c.ack(first);
    await eventually(
      async () => (await metricValue(h.registry, 'pilot_xds_expired_nonce', { type: 'wds' })) === 1,
    );
    await c.expectNone(100);
    assert.equal(h.server.syncStatus()[0]?.types[0]?.state, 'STALE');
  });
});
