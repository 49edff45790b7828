import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { decodeWaypointConfig } from '../../../../src/shared/l7/envelope.js';
import { WAYPOINT_CONFIG_TYPE_URL, type WaypointConfig } from '../../../../src/shared/l7/waypoint-config.js';
import { WaypointConfigSource } from '../../../../src/istiod/l7/source.js';
import type { ResourceChange } from '../../../../src/istiod/xds/index.js';

function waypoint(namespace: string, name: string, warnings: string[] = []): WaypointConfig {
  return {
    waypoint: {
      namespace,
      name,
      for: 'service',
      identity: `spiffe://cluster.local/ns/${namespace}/sa/${name}`,
    },
    trustDomain: 'cluster.local',
    services: [],
    workloads: [],
    clusters: {},
    policies: [],
    peers: {},
    warnings,
  };
}

/** A source over a mutable set of configurations, with the dirty signal in the test's hands. */
function harness(initial: Record<string, WaypointConfig>) {
  let current = new Map(Object.entries(initial));
  let failing = false;
  let dirty: (() => void) | undefined;
  let unwatched = false;
  const source = new WaypointConfigSource({
    compileAll: () => {
      if (failing) throw new Error('compiler bug');
      return current;
    },
    watch: (onDirty) => {
      dirty = onDirty;
      return () => {
        unwatched = true;
      };
    },
    debounceMs: 1,
  });
  const changes: ResourceChange[] = [];
  const events = new EventEmitter();
  source.onChange((cs) => {
    changes.push(...cs);
    events.emit('change');
  });
  return {
    source,
    changes,
    events,
    set: (next: Record<string, WaypointConfig>) => (current = new Map(Object.entries(next))),
    fail: () => (failing = true),
    dirty: () => dirty?.(),
    unwatched: () => unwatched,
  };
}

describe('WaypointConfigSource', () => {
  it('serves one resource per waypoint that decodes to its configuration', () => {
    const h = harness({ 'default/waypoint': waypoint('default', 'waypoint') });
    const res = h.source.find(WAYPOINT_CONFIG_TYPE_URL, 'default/waypoint');
    assert.ok(res);
    assert.deepEqual(decodeWaypointConfig(res.value), waypoint('default', 'waypoint'));
    assert.equal(h.source.find('type.googleapis.com/istio.workload.Address', 'default/waypoint'), undefined);
    h.source.close();
  });

  it('announces only the waypoints whose bytes changed, after the quiet period', async () => {
    const h = harness({ 'a/wp': waypoint('a', 'wp'), 'b/wp': waypoint('b', 'wp') });
    const before = h.source.find(WAYPOINT_CONFIG_TYPE_URL, 'a/wp');
    h.set({
      'a/wp': waypoint('a', 'wp'),
      'b/wp': waypoint('b', 'wp', ['changed']),
      'c/wp': waypoint('c', 'wp'),
    });
    h.dirty();
    h.dirty();
    await once(h.events, 'change');
    assert.deepEqual(h.changes, [
      { typeUrl: WAYPOINT_CONFIG_TYPE_URL, updated: ['b/wp', 'c/wp'], removed: [] },
    ]);
    assert.equal(
      h.source.find(WAYPOINT_CONFIG_TYPE_URL, 'a/wp'),
      before,
      'an unchanged resource is the same object',
    );
    h.set({ 'c/wp': waypoint('c', 'wp') });
    h.source.flush();
    assert.deepEqual(h.changes[1], {
      typeUrl: WAYPOINT_CONFIG_TYPE_URL,
      updated: [],
      removed: ['a/wp', 'b/wp'],
    });
    h.source.close();
  });

  it('keeps the last good resources when compiling throws', () => {
    const h = harness({ 'a/wp': waypoint('a', 'wp') });
    h.fail();
    h.source.flush();
    assert.ok(h.source.find(WAYPOINT_CONFIG_TYPE_URL, 'a/wp'));
    assert.equal(h.changes.length, 0);
    h.source.close();
  });

  it('stops watching and drops a pending compile when closed', () => {
    const h = harness({});
    h.dirty();
    h.source.close();
    assert.equal(h.unwatched(), true);
    h.dirty();
    assert.equal(h.changes.length, 0);
  });
});
