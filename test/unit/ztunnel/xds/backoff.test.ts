import assert from 'node:assert/strict';
import { Backoff } from '../../../../src/ztunnel/xds/index.js';

describe('Backoff', () => {
  it('doubles from 10 ms to a 15 s cap by default, jittered around the base', () => {
    const b = new Backoff({ random: () => 0.5 });
    const delays = Array.from({ length: 14 }, () => b.next());
    assert.deepEqual(delays.slice(0, 4), [10, 20, 40, 80]);
    assert.equal(delays.at(-1), 15_000);
  });

  const jitter = [
    { random: 0, want: 50 },
    { random: 0.5, want: 100 },
    { random: 0.999, want: 150 },
  ];
  for (const c of jitter) {
    it(`jitters a 100 ms base to ${c.want} ms when the random draw is ${c.random}`, () => {
      const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => c.random });
      assert.equal(b.next(), c.want);
    });
  }

  it('never exceeds the maximum even with the largest jitter', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 300, random: () => 0.999 });
    const delays = Array.from({ length: 6 }, () => b.next());
    assert.ok(delays.every((d) => d <= 300), delays.join(','));
  });

  it('starts over from the initial delay after reset', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 1000, random: () => 0.5 });
    b.next();
    b.next();
    b.reset();
    assert.equal(b.next(), 10);
  });

  it('refuses a non-positive initial delay or a maximum below it: XDS_CLIENT_INVALID_OPTION', () => {
    for (const o of [{ initialMs: 0 }, { initialMs: 100, maxMs: 50 }]) {
      assert.throws(() => new Backoff(o), (e: { code?: string }) => e.code === 'XDS_CLIENT_INVALID_OPTION');
    }
  });
});
