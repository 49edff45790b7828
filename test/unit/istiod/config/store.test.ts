import assert from 'node:assert/strict';
import { ConfigStore } from '../../../../src/istiod/config/store.js';
import type { AnyConfigObject, ConfigEvent } from '../../../../src/istiod/config/types.js';

function serviceAccount(name: string, namespace = 'demo', labels: Record<string, string> = {}): AnyConfigObject {
  return {
    kind: 'ServiceAccount',
    apiVersion: 'v1',
    metadata: { name, namespace, labels, annotations: {} },
    spec: {},
    origin: { source: 'test' },
  };
}

describe('istiod/config/store', () => {
  it('emits add, then update on changed content, then delete', () => {
    const store = new ConfigStore();
    const seen: ConfigEvent['kind'][] = [];
    store.subscribe((events) => seen.push(...events.map((e) => e.kind)));
    store.upsert(serviceAccount('a'));
    store.upsert(serviceAccount('a', 'demo', { team: 'x' }));
    assert.equal(store.delete('ServiceAccount', 'demo', 'a'), true);
    assert.deepEqual(seen, ['add', 'update', 'delete']);
    assert.equal(store.size, 0);
  });

  it('treats an identical object from another file as no change', () => {
    const store = new ConfigStore();
    let calls = 0;
    store.upsert(serviceAccount('a'));
    store.subscribe(() => calls++);
    store.upsert({ ...serviceAccount('a'), origin: { source: 'file', file: 'other.yaml', index: 3 } });
    assert.equal(calls, 0);
    assert.equal(store.delete('ServiceAccount', 'demo', 'missing'), false);
    assert.equal(calls, 0);
  });

  it('notifies once per batch with every change in order', () => {
    const store = new ConfigStore();
    const batches: ConfigEvent[][] = [];
    store.subscribe((events) => batches.push([...events]));
    store.batch(() => {
      store.upsert(serviceAccount('a'));
      store.upsert(serviceAccount('b', 'other'));
      store.delete('ServiceAccount', 'demo', 'a');
    });
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0]?.map((e) => `${e.kind}:${e.object.metadata.name}`), ['add:a', 'add:b', 'delete:a']);
  });

  it('lists by kind and namespace and finds by name', () => {
    const store = new ConfigStore();
    store.upsert(serviceAccount('a'));
    store.upsert(serviceAccount('b', 'other'));
    assert.deepEqual(store.list('ServiceAccount').map((o) => o.metadata.name).sort(), ['a', 'b']);
    assert.deepEqual(store.list('ServiceAccount', 'other').map((o) => o.metadata.name), ['b']);
    assert.equal(store.find('ServiceAccount', 'demo', 'a')?.metadata.name, 'a');
    assert.deepEqual(store.list('Pod'), []);
    const rev = store.currentRevision;
    store.upsert(serviceAccount('c'));
    assert.equal(store.currentRevision, rev + 1);
  });
});
