import assert from 'node:assert/strict';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { eventually, histogramCount, metricValue, startHarness, type Harness } from './harness.js';

describe('xds server: metrics', () => {
  let h: Harness;

  afterEach(async () => {
    await h.stop();
  });

  it('pilot_xds counts connected clients by version and drops when they leave', async () => {
    h = await startHarness();
    const a = h.delta({ podName: 'a', metadata: { ISTIO_VERSION: '1.24.0' } });
    const b = h.delta({ podName: 'b' });
    a.subscribe(ADDRESS_TYPE_URL);
    b.subscribe(ADDRESS_TYPE_URL);
    await a.next();
    await b.next();
    assert.equal(await metricValue(h.registry, 'pilot_xds', { version: '1.24.0' }), 1);
    assert.equal(await metricValue(h.registry, 'pilot_xds', { version: 'unknown' }), 1);
    a.close();
    await eventually(async () => (await metricValue(h.registry, 'pilot_xds', { version: '1.24.0' })) === 0);
    assert.equal(await metricValue(h.registry, 'pilot_xds', { version: 'unknown' }), 1);
  });

  it('pushes are counted by type with push time, send time, size and convergence recorded', async () => {
    h = await startHarness();
    h.source.set(AUTHORIZATION_TYPE_URL, 'default/allow', 'policy');
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    c.subscribe(AUTHORIZATION_TYPE_URL);
    c.ack(await c.next());
    c.ack(await c.next());
    h.source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a');
    c.ack(await c.next());
    await eventually(async () => (await histogramCount(h.registry, 'pilot_xds_send_time')) === 3);
    assert.equal(await metricValue(h.registry, 'pilot_xds_pushes', { type: 'wds' }), 2);
    assert.equal(await metricValue(h.registry, 'pilot_xds_pushes', { type: 'wads' }), 1);
    assert.equal(await histogramCount(h.registry, 'pilot_xds_push_time'), 3);
    assert.equal(await histogramCount(h.registry, 'pilot_xds_config_size_bytes'), 3);
    // Only the change-driven push has a change time.
    assert.equal(await histogramCount(h.registry, 'pilot_proxy_convergence_time'), 1);
    const text = await h.registry.metrics();
    assert.match(text, /^pilot_xds_pushes\{type="wds"\} 2$/m);
  });
});
