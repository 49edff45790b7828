import assert from 'node:assert/strict';
import {
  CompositeSource,
  type ResourceChange,
  type XdsResource,
  type XdsResourceSource,
} from '../../../../src/istiod/xds/index.js';

function fixedSource(
  typeUrl: string,
  names: string[],
): XdsResourceSource & { emit(c: ResourceChange): void } {
  const map = new Map<string, XdsResource>(
    names.map((n) => [n, { name: n, version: '1', value: new Uint8Array() }]),
  );
  const listeners = new Set<(c: readonly ResourceChange[]) => void>();
  return {
    typeUrls: [typeUrl],
    resources: (t) => (t === typeUrl ? map : new Map()),
    find: (t, n) => (t === typeUrl ? map.get(n) : undefined),
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit(c) {
      for (const l of listeners) l([c]);
    },
  };
}

describe('CompositeSource', () => {
  it('serves each type from the source that owns it', () => {
    const a = fixedSource('type/a', ['x']);
    const b = fixedSource('type/b', ['y']);
    const both = new CompositeSource([a, b]);
    assert.deepEqual(both.typeUrls, ['type/a', 'type/b']);
    assert.equal(both.find('type/a', 'x')?.name, 'x');
    assert.equal(both.find('type/a', 'y'), undefined);
    assert.deepEqual([...both.resources('type/b').keys()], ['y']);
    assert.equal(both.resources('type/c').size, 0);
  });

  it('relays every source change until unsubscribed', () => {
    const a = fixedSource('type/a', []);
    const b = fixedSource('type/b', []);
    const seen: string[] = [];
    const off = new CompositeSource([a, b]).onChange((cs) => seen.push(...cs.map((c) => c.typeUrl)));
    a.emit({ typeUrl: 'type/a', updated: ['x'], removed: [] });
    b.emit({ typeUrl: 'type/b', updated: [], removed: ['y'] });
    off();
    a.emit({ typeUrl: 'type/a', updated: ['z'], removed: [] });
    assert.deepEqual(seen, ['type/a', 'type/b']);
  });

  it('refuses two sources for one type', () => {
    assert.throws(
      () => new CompositeSource([fixedSource('type/a', []), fixedSource('type/a', [])]),
      /two xds resource sources serve type\/a/,
    );
  });
});
