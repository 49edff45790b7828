import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { resourceNames, ztunnelNodeId } from '../../../support/xds-client.js';
import { eventually, metricValue, startHarness, type Harness } from './harness.js';

describe('xds server: delta ADS over gRPC', () => {
  let h: Harness;

  afterEach(async () => {
    await h.stop();
  });

  function seed(): void {
    h.source.batch(() => {
      h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a', ['/10.0.0.1']);
      h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b', 'workload-b', ['/10.0.0.2']);
      h.source.set(ADDRESS_TYPE_URL, 'default/svc.default.svc.cluster.local', 'service', ['/10.96.0.1']);
      h.source.set(AUTHORIZATION_TYPE_URL, 'default/allow', 'policy');
    });
  }

  it('a wildcard subscriber receives every resource with versions and aliases, and its ACK marks it SYNCED', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    const resp = await c.next();
    assert.equal(resp.typeUrl, ADDRESS_TYPE_URL);
    assert.deepEqual(resourceNames(resp), [
      'Kubernetes//Pod/default/a',
      'Kubernetes//Pod/default/b',
      'default/svc.default.svc.cluster.local',
    ]);
    const a = resp.resources.find((r) => r.name === 'Kubernetes//Pod/default/a');
    assert.equal(a?.version, h.source.find(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a')?.version);
    assert.deepEqual(a?.aliases, ['/10.0.0.1']);
    assert.equal(a?.resource?.typeUrl, ADDRESS_TYPE_URL);
    assert.equal(Buffer.from(a?.resource?.value ?? []).toString(), 'workload-a');
    assert.deepEqual(resp.removedResources, []);
    assert.notEqual(resp.nonce, '');
    c.ack(resp);
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.state === 'SYNCED', 2000, 'SYNCED');
    const t = h.server.syncStatus()[0]?.types[0];
    assert.equal(t?.nonceAcked, resp.nonce);
    assert.equal(t?.wildcard, true);
    assert.equal(t?.resourceCount, 3);
    await c.expectNone(100);
  });

  it('an initial request is answered even when the source holds nothing of that type', async () => {
    h = await startHarness();
    const c = h.delta();
    c.subscribe(AUTHORIZATION_TYPE_URL);
    const resp = await c.next();
    assert.equal(resp.typeUrl, AUTHORIZATION_TYPE_URL);
    assert.equal(resp.resources.length, 0);
    assert.equal(resp.removedResources.length, 0);
  });

  it('a changed resource is pushed alone, and repeated changes within the debounce window merge into one push', async () => {
    h = await startHarness({ debounceMs: 50 });
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    c.ack(await c.next());
    for (let i = 0; i < 5; i++)
      h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', `workload-a-v${i}`, ['/10.0.0.1']);
    const resp = await c.next();
    assert.deepEqual(resourceNames(resp), ['Kubernetes//Pod/default/a']);
    assert.equal(Buffer.from(resp.resources[0]?.resource?.value ?? []).toString(), 'workload-a-v4');
    c.ack(resp);
    await c.expectNone(150);
  });

  it('a deleted resource is sent in removed_resources', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    c.ack(await c.next());
    h.source.delete(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b');
    const resp = await c.next();
    assert.deepEqual(resp.resources, []);
    assert.deepEqual(resp.removedResources, ['Kubernetes//Pod/default/b']);
  });

  it('each type URL is its own subscription on one stream', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    c.subscribe(AUTHORIZATION_TYPE_URL);
    const first = await c.next();
    const second = await c.next();
    const byType = new Map([first, second].map((r) => [r.typeUrl, r]));
    assert.equal(byType.get(ADDRESS_TYPE_URL)?.resources.length, 3);
    assert.deepEqual(resourceNames(byType.get(AUTHORIZATION_TYPE_URL)!), ['default/allow']);
    h.source.set(AUTHORIZATION_TYPE_URL, 'default/deny', 'policy-2');
    const push = await c.next();
    assert.equal(push.typeUrl, AUTHORIZATION_TYPE_URL);
    assert.deepEqual(resourceNames(push), ['default/deny']);
  });

  it('explicit subscriptions by name and by alias are answered, unknown names come back removed, unsubscribed names stop updating', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL, ['Kubernetes//Pod/default/a', '/10.96.0.1', '/10.9.9.9']);
    const resp = await c.next();
    assert.deepEqual(resourceNames(resp), [
      'Kubernetes//Pod/default/a',
      'default/svc.default.svc.cluster.local',
    ]);
    assert.deepEqual(resp.removedResources, ['/10.9.9.9']);
    c.ack(resp);

    // Not subscribed: no push.
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b', 'workload-b-2', ['/10.0.0.2']);
    await c.expectNone(100);

    // Subscribed through an alias: pushed.
    h.source.set(ADDRESS_TYPE_URL, 'default/svc.default.svc.cluster.local', 'service-2', ['/10.96.0.1']);
    const aliasPush = await c.next();
    assert.deepEqual(resourceNames(aliasPush), ['default/svc.default.svc.cluster.local']);
    c.ack(aliasPush);

    // Re-subscribing an unchanged name is still answered.
    c.subscribe(ADDRESS_TYPE_URL, ['Kubernetes//Pod/default/a']);
    const again = await c.next();
    assert.deepEqual(resourceNames(again), ['Kubernetes//Pod/default/a']);
    c.ack(again);

    // A workload appearing under a subscribed alias is pushed.
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/c', 'workload-c', ['/10.9.9.9']);
    const appeared = await c.next();
    assert.deepEqual(resourceNames(appeared), ['Kubernetes//Pod/default/c']);
    c.ack(appeared);

    c.unsubscribe(ADDRESS_TYPE_URL, ['Kubernetes//Pod/default/a']);
    await eventually(
      () => !(h.server.syncStatus()[0]?.types[0]?.subscribed ?? []).includes('Kubernetes//Pod/default/a'),
    );
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a-2', ['/10.0.0.1']);
    await c.expectNone(100);
  });

  it('subscribing and unsubscribing "*" in the first request subscribes to nothing (on-demand), yet is answered', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL, ['*'], { unsubscribe: ['*'] });
    const resp = await c.next();
    assert.equal(resp.resources.length, 0);
    assert.equal(resp.removedResources.length, 0);
    c.ack(resp);
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b', 'workload-b-2', ['/10.0.0.2']);
    await c.expectNone(100);
    c.subscribe(ADDRESS_TYPE_URL, ['/10.0.0.2']);
    const lookup = await c.next();
    assert.deepEqual(resourceNames(lookup), ['Kubernetes//Pod/default/b']);
    assert.equal(h.server.syncStatus()[0]?.types[0]?.wildcard, false);
  });

  it('an explicit "*" subscribes wildcard', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL, ['*']);
    const resp = await c.next();
    assert.equal(resp.resources.length, 3);
  });

  it('a NACK is recorded with the client detail and counted, the acked version stays, and later changes still flow', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    const first = await c.next();
    c.ack(first);
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.state === 'SYNCED');
    const ackedVersion = h.server.syncStatus()[0]?.types[0]?.versionAcked;

    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'bad', ['/10.0.0.1']);
    const bad = await c.next();
    c.nack(bad, 'Kubernetes//Pod/default/a: invalid workload');
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.lastNack !== undefined);
    const t = h.server.syncStatus()[0]?.types[0];
    assert.equal(t?.lastNack, 'Kubernetes//Pod/default/a: invalid workload');
    assert.equal(t?.state, 'STALE');
    assert.equal(t?.versionAcked, ackedVersion);
    assert.equal(t?.nonceAcked, first.nonce);
    assert.equal(await metricValue(h.registry, 'pilot_total_xds_rejects', { type: 'wds' }), 1);

    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'good', ['/10.0.0.1']);
    const fixed = await c.next();
    assert.deepEqual(resourceNames(fixed), ['Kubernetes//Pod/default/a']);
    c.ack(fixed);
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.state === 'SYNCED');
    assert.equal(h.server.syncStatus()[0]?.types[0]?.lastNack, undefined);
  });

  it('an ACK with a stale nonce is ignored and counted as expired', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    const first = await c.next();
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'a-2', ['/10.0.0.1']);
    const second = await c.next();
    c.ack(first);
    await eventually(
      async () => (await metricValue(h.registry, 'pilot_xds_expired_nonce', { type: 'wds' })) === 1,
    );
    assert.equal(h.server.syncStatus()[0]?.types[0]?.state, 'STALE');
    assert.equal(h.server.syncStatus()[0]?.types[0]?.nonceAcked, '');
    c.ack(second);
    await eventually(() => h.server.syncStatus()[0]?.types[0]?.state === 'SYNCED');
  });

  it('a reconnect with initial_resource_versions resends only what changed and removes what vanished', async () => {
    h = await startHarness();
    seed();
    const first = h.delta({ podName: 'zt-1' });
    first.subscribe(ADDRESS_TYPE_URL);
    const resp = await first.next();
    first.ack(resp);
    const held = Object.fromEntries(resp.resources.map((r) => [r.name, r.version]));
    first.close();
    await eventually(() => h.server.connectionCount === 0);

    h.source.batch(() => {
      h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a-new', ['/10.0.0.1']);
      h.source.delete(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/b');
    });
    const again = h.delta({ podName: 'zt-1' });
    again.subscribe(ADDRESS_TYPE_URL, [], { initialResourceVersions: held });
    const sync = await again.next();
    assert.deepEqual(resourceNames(sync), ['Kubernetes//Pod/default/a']);
    assert.deepEqual(sync.removedResources, ['Kubernetes//Pod/default/b']);
  });

  it('a client that never reads does not delay another client, and is reset after the send timeout', async () => {
    h = await startHarness({ sendTimeoutMs: 1500 });
    const big = 'x'.repeat(16 * 1024);
    h.source.batch(() => {
      for (let i = 0; i < 400; i++)
        h.source.set(ADDRESS_TYPE_URL, `Kubernetes//Pod/default/w${i}`, `${i}${big}`);
    });
    const stuck = h.delta({ podName: 'stuck' });
    stuck.pause();
    stuck.subscribe(ADDRESS_TYPE_URL);
    // A paused gRPC client still buffers 16 messages plus the HTTP/2 window;
    // 40 separate pushes of 16 KiB overflow both.
    for (let round = 0; round < 40; round++) {
      h.source.set(ADDRESS_TYPE_URL, `Kubernetes//Pod/default/w${round}`, `${round}-changed${big}`);
      await new Promise((r) => setTimeout(r, 15));
    }

    const healthy = h.delta({ podName: 'healthy' });
    healthy.subscribe(ADDRESS_TYPE_URL);
    const full = await healthy.next(3000);
    assert.equal(full.resources.length, 400);
    healthy.ack(full);
    const startedAt = Date.now();
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/w7', 'small');
    const push = await healthy.next(1000);
    assert.deepEqual(resourceNames(push), ['Kubernetes//Pod/default/w7']);
    assert.ok(Date.now() - startedAt < 1000);

    const stuckStatus = h.server.syncStatus().find((s) => s.nodeId.includes('stuck'));
    assert.equal(stuckStatus?.types[0]?.pending, true);

    await eventually(
      async () => (await metricValue(h.registry, 'pilot_xds_write_timeout')) === 1,
      5000,
      'write timeout',
    );
    await eventually(
      () => h.server.syncStatus().every((s) => !s.nodeId.includes('stuck')),
      2000,
      'stuck connection gone',
    );
  });

  it('a first request without a node, or with a malformed node id, is refused with INVALID_ARGUMENT', async () => {
    h = await startHarness();
    const noNode = h.delta({ nodeId: '' });
    noNode.subscribe(ADDRESS_TYPE_URL);
    assert.equal((await noNode.waitEnd()).code, grpc.status.INVALID_ARGUMENT);
    const badId = h.delta({ nodeId: 'ztunnel~10.0.0.1~only-three' });
    badId.subscribe(ADDRESS_TYPE_URL);
    const end = await badId.waitEnd();
    assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
    assert.match(end.details, /4/);
    await eventually(() => h.server.connectionCount === 0, 2000, 'refused streams forgotten');
  });

  it('syncz names each connection by node id and NODE_NAME with its peer and per-type state', async () => {
    h = await startHarness();
    seed();
    const c = h.delta({ podName: 'ztunnel-abc', nodeName: 'worker-1' });
    c.subscribe(ADDRESS_TYPE_URL);
    c.subscribe(AUTHORIZATION_TYPE_URL, ['default/allow']);
    const r1 = await c.next();
    const r2 = await c.next();
    c.ack(r1);
    await eventually(() => h.server.syncStatus()[0]?.types.some((t) => t.state === 'SYNCED') ?? false);
    const [s] = h.server.syncStatus();
    assert.equal(s?.nodeId, ztunnelNodeId('ztunnel-abc'));
    assert.equal(s?.nodeName, 'worker-1');
    assert.equal(s?.protocol, 'delta');
    assert.match(s?.peer ?? '', /^127\.0\.0\.1:\d+$/);
    assert.ok(!Number.isNaN(Date.parse(s?.connectedAt ?? '')));
    const byType = new Map(s?.types.map((t) => [t.typeUrl, t]));
    const acked = r1.typeUrl;
    const unacked = r2.typeUrl;
    assert.equal(byType.get(acked)?.state, 'SYNCED');
    assert.equal(byType.get(unacked)?.state, 'STALE');
    assert.deepEqual(byType.get(AUTHORIZATION_TYPE_URL)?.subscribed, ['default/allow']);
    assert.equal(byType.get(AUTHORIZATION_TYPE_URL)?.wildcard, false);
    assert.equal(byType.get(unacked)?.nonceSent, r2.nonce);
    assert.deepEqual(
      s?.types.map((t) => t.typeUrl),
      [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL].sort(),
    );
  });

  it('nonces are unique per response across connections', async () => {
    h = await startHarness();
    seed();
    const a = h.delta({ podName: 'a' });
    const b = h.delta({ podName: 'b' });
    a.subscribe(ADDRESS_TYPE_URL);
    b.subscribe(ADDRESS_TYPE_URL);
    const nonces = new Set<string>();
    nonces.add((await a.next()).nonce);
    nonces.add((await b.next()).nonce);
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'v2', ['/10.0.0.1']);
    nonces.add((await a.next()).nonce);
    nonces.add((await b.next()).nonce);
    assert.equal(nonces.size, 4);
  });

  it('close() ends every stream with OK and refuses nothing already sent', async () => {
    h = await startHarness();
    seed();
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    await c.next();
    await h.server.close(1000);
    const end = await c.waitEnd();
    assert.equal(end.code, grpc.status.OK);
    assert.equal(h.source.listenerCount, 0);
  });
});
