import assert from 'node:assert/strict';
import { parseDurationMs, parseTtlSeconds } from '../../../src/ztunnel/config.js';

describe('ztunnel/config durations', () => {
  const good = [
    { text: '60s', ms: 60_000 },
    { text: '30m', ms: 1_800_000 },
    { text: '24h', ms: 86_400_000 },
    { text: '1h30m', ms: 5_400_000 },
    { text: '1.5h', ms: 5_400_000 },
    { text: '500ms', ms: 500 },
    { text: ' 45s ', ms: 45_000 },
  ];
  for (const c of good) {
    it(`"${c.text}" is ${c.ms} ms`, () => {
      assert.equal(parseDurationMs('--secret-ttl', c.text), c.ms);
    });
  }

  const bad = [
    { text: '', why: /not a duration/ },
    { text: '60', why: /not a duration/ },
    { text: '1d', why: /not a duration/ },
    { text: '-5s', why: /not a duration/ },
    { text: '5s junk', why: /not a duration/ },
    { text: '0s', why: /longer than zero/ },
  ];
  for (const c of bad) {
    it(`"${c.text}" is refused with ZTUNNEL_BAD_FLAG naming the flag`, () => {
      assert.throws(
        () => parseDurationMs('--secret-ttl', c.text),
        (e: { code?: string; message?: string }) =>
          e.code === 'ZTUNNEL_BAD_FLAG' && e.message!.startsWith(`--secret-ttl "${c.text}"`) && c.why.test(e.message!),
      );
    });
  }

  it('a TTL is whole seconds, at least one', () => {
    assert.equal(parseTtlSeconds('SECRET_TTL', '90s'), 90);
    assert.equal(parseTtlSeconds('SECRET_TTL', '1500ms'), 1);
    assert.throws(() => parseTtlSeconds('SECRET_TTL', '500ms'), (e: { code?: string; message?: string }) => e.code === 'ZTUNNEL_BAD_FLAG' && /^SECRET_TTL "500ms": must be at least 1s$/.test(e.message!));
  });
});
