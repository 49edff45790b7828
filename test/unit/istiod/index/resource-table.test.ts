import assert from 'node:assert/strict';
import { ResourceTable } from '../../../../src/istiod/index/resource-table.js';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('istiod/index/resource-table', () => {
  it('keeps the resource (and version) when identical bytes are put again', () => {
    const t = new ResourceTable('t');
    const first = t.put('a', bytes(1, 2));
    assert.equal(t.put('a', bytes(1, 2)), first);
    assert.notEqual(t.put('a', bytes(1, 3)).version, first.version);
  });

  it('finds by name, then by alias; several names may share an alias', () => {
    const t = new ResourceTable('t');
    t.put('a', bytes(1), ['/10.0.0.1']);
    t.put('b', bytes(2), ['/10.0.0.1', '/10.0.0.2']);
    assert.equal(t.find('a')?.name, 'a');
    assert.equal(t.find('/10.0.0.2')?.name, 'b');
    assert.deepEqual([...t.namesForAlias('/10.0.0.1')].sort(), ['a', 'b']);
    t.remove('b');
    assert.deepEqual([...t.namesForAlias('/10.0.0.1')], ['a']);
    assert.equal(t.find('/10.0.0.2'), undefined);
  });

  const batches: { name: string; run: (t: ResourceTable) => void; updated: string[]; removed: string[] }[] = [
    { name: 'add', run: (t) => t.put('new', bytes(9)), updated: ['new'], removed: [] },
    { name: 'change', run: (t) => t.put('x', bytes(2)), updated: ['x'], removed: [] },
    { name: 'same bytes', run: (t) => t.put('x', bytes(1)), updated: [], removed: [] },
    { name: 'remove', run: (t) => t.remove('x'), updated: [], removed: ['x'] },
    {
      name: 'remove then restore',
      run: (t) => (t.remove('x'), t.put('x', bytes(1))),
      updated: [],
      removed: [],
    },
    {
      name: 'change then change back',
      run: (t) => (t.put('x', bytes(5)), t.put('x', bytes(1))),
      updated: [],
      removed: [],
    },
    {
      name: 'add then remove',
      run: (t) => (t.put('tmp', bytes(3)), t.remove('tmp')),
      updated: [],
      removed: [],
    },
  ];
  for (const c of batches) {
    it(`a batch that does "${c.name}" reports updated ${JSON.stringify(c.updated)}, removed ${JSON.stringify(c.removed)}`, () => {
      const t = new ResourceTable('t');
      t.put('x', bytes(1));
      t.begin();
      c.run(t);
      assert.deepEqual(t.end(), { typeUrl: 't', updated: c.updated, removed: c.removed });
    });
  }
});
