import assert from 'node:assert/strict';
import {
  canonicalJson,
  fnv1a32,
  podTemplateHash,
  replicaPodName,
  safeEncode,
} from '../../../../src/mesh/workloads/pod-names.js';

const SAFE = /^[bcdfghjklmnpqrstvwxz2456789]+$/;

/** A random source that returns the given values in turn, then repeats the last one. */
function sequence(...values: number[]): (max: number) => number {
  let i = 0;
  return (max) => {
    const v = values[Math.min(i, values.length - 1)]!;
    i++;
    assert.ok(v < max, `scripted value ${v} is not below ${max}`);
    return v;
  };
}

describe('mesh workloads: pod names', () => {
  describe('fnv1a32', () => {
    // The published FNV-1a 32-bit test vectors.
    const vectors: [string, number][] = [
      ['', 0x811c9dc5],
      ['a', 0xe40c292c],
      ['foobar', 0xbf9cf968],
    ];
    for (const [text, want] of vectors) {
      it(`hashes ${JSON.stringify(text)} to 0x${want.toString(16)}`, () => {
        assert.equal(fnv1a32(text), want);
      });
    }

    it('hashes the UTF-8 bytes, not the UTF-16 code units', () => {
      // "é" is one UTF-16 unit but two UTF-8 bytes (c3 a9).
      const bytewise = [0xc3, 0xa9].reduce((h, b) => Math.imul(h ^ b, 0x01000193) >>> 0, 0x811c9dc5);
      assert.equal(fnv1a32('é'), bytewise);
    });
  });

  describe('safeEncode', () => {
    const cases: { name: string; text: string; want: string }[] = [
      // Digits 0-9 are bytes 48-57, i.e. 21..26 and 0..3 of the 27-letter alphabet.
      { name: 'the ten digits', text: '0123456789', want: '456789bcdf' },
      { name: 'the empty string', text: '', want: '' },
      { name: 'a byte that wraps the alphabet twice', text: String.fromCharCode(27 * 2 + 5), want: 'h' },
    ];
    for (const c of cases) {
      it(`${c.name}: ${JSON.stringify(c.want)}`, () => {
        assert.equal(safeEncode(c.text), c.want);
      });
    }
  });

  describe('canonicalJson', () => {
    it('gives the same text whatever the key order, at every depth', () => {
      const a = { b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } };
      const b = { a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 };
      assert.equal(canonicalJson(a), canonicalJson(b));
      assert.equal(canonicalJson(a), '{"a":{"c":"x","d":[1,{"x":1,"y":2}]},"b":1}');
    });

    it('keeps array order, which is meaningful', () => {
      assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    });

    it('drops undefined members and writes null and scalars as JSON does', () => {
      assert.equal(
        canonicalJson({ a: undefined, b: null, c: 'q"', d: true }),
        '{"b":null,"c":"q\\"","d":true}',
      );
    });
  });

  describe('podTemplateHash', () => {
    const template = {
      metadata: { labels: { app: 'reviews', version: 'v1' } },
      spec: { containers: [{ name: 'reviews', image: 'istio/examples-bookinfo-reviews-v1' }] },
    };

    it('is stable, safe-encoded and independent of key order', () => {
      const h = podTemplateHash(template);
      assert.match(h, SAFE);
      assert.equal(podTemplateHash(structuredClone(template)), h);
      const reordered = { spec: template.spec, metadata: { labels: { version: 'v1', app: 'reviews' } } };
      assert.equal(podTemplateHash(reordered), h);
    });

    it('is the safe encoding of the decimal FNV-1a hash of the canonical JSON', () => {
      assert.equal(podTemplateHash(template), safeEncode(String(fnv1a32(canonicalJson(template)))));
    });

    it('differs when the template differs', () => {
      const changed = structuredClone(template);
      changed.spec.containers[0]!.image = 'istio/examples-bookinfo-reviews-v2';
      assert.notEqual(podTemplateHash(changed), podTemplateHash(template));
    });
  });

  describe('replicaPodName', () => {
    it('is <deployment>-<hash>-<5 safe characters>', () => {
      const name = replicaPodName('reviews-v1', '5b9c7d8f4', new Set());
      assert.match(name, /^reviews-v1-5b9c7d8f4-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    });

    it('takes its suffix from the injected random source', () => {
      // Indices 0, 1, 2, 25, 26 of the alphabet.
      assert.equal(replicaPodName('web', 'h', new Set(), sequence(0, 1, 2, 25, 26)), 'web-h-bcd89');
    });

    it('draws again while the name is taken', () => {
      const taken = new Set(['web-h-bbbbb']);
      const name = replicaPodName('web', 'h', taken, sequence(0, 0, 0, 0, 0, 1));
      assert.equal(name, 'web-h-ccccc');
    });

    it('cuts a long base to 58 characters so the name is 63', () => {
      const deployment = 'd'.repeat(60);
      const name = replicaPodName(deployment, '456789bcdf', new Set(), sequence(0));
      assert.equal(name.length, 63);
      assert.equal(name, `${'d'.repeat(58)}bbbbb`);
    });

    it('keeps a base of exactly 58 characters whole', () => {
      const deployment = 'd'.repeat(46); // 46 + '-' + 10 + '-' = 58
      const name = replicaPodName(deployment, '456789bcdf', new Set(), sequence(0));
      assert.equal(name, `${deployment}-456789bcdf-bbbbb`);
      assert.equal(name.length, 63);
    });
  });
});
