import assert from 'node:assert/strict';
import { Backoff } from '../../../../../../src/istiod/config/sources/kubernetes/backoff.js';

describe('kubernetes source backoff', () => {
  it('doubles from the initial delay and stays at the bound', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
    assert.equal(b.failures, 6);
  });

  const jitterCases = [
    { random: 0, want: 400, name: 'no draw' },
    { random: 0.5, want: 300, name: 'half draw' },
    { random: 1, want: 200, name: 'full draw' },
  ];
  for (const c of jitterCases) {
    it(`takes up to the jitter fraction off the base delay (${c.name}): ${c.want} ms`, () => {
      const b = new Backoff({ initialMs: 400, maxMs: 1000, jitter: 0.5 }, () => c.random);
      assert.equal(b.next(), c.want);
    });
  }

  it('never waits longer than the bound or less than zero, whatever the random draw', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 250, jitter: 1 });
    for (let i = 0; i < 100; i++) {
      const d = b.next();
      assert.ok(d >= 0 && d <= 250, `delay ${d}`);
    }
  });

  it('starts again from the initial delay after a reset', () => {
    const b = new Backoff({ initialMs: 50, maxMs: 1000, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    assert.equal(b.failures, 0);
    assert.equal(b.next(), 50);
  });
});
