import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HboneError, formatAuthority, parseAuthority } from '../../../../src/ztunnel/hbone/index.js';

/** Runs per property; the fuzz figure quoted for the CONNECT authority parser. */
const RUNS = 20_000;

const throwsOnlyTyped = (input: string | undefined): boolean => {
  try {
    const addr = parseAuthority(input);
    return addr.port >= 1 && addr.port <= 65535 && addr.ip.length > 0;
  } catch (err) {
    return err instanceof HboneError && err.code === 'HBONE_BAD_AUTHORITY';
  }
};

describe('ztunnel/hbone/authority: the CONNECT :authority parser under fuzzing', () => {
  it(`never throws anything but HBONE_BAD_AUTHORITY on arbitrary strings (${RUNS} runs)`, () => {
    fc.assert(fc.property(fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: undefined }), throwsOnlyTyped), { numRuns: RUNS });
  });

  it(`never throws anything but HBONE_BAD_AUTHORITY on authority-shaped strings (${RUNS} runs)`, () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.[]%-_ '.split(''));
    fc.assert(fc.property(fc.string({ unit: chars, maxLength: 60 }), throwsOnlyTyped), { numRuns: RUNS });
  });

  it(`round-trips every IPv4 and IPv6 address with every port (${RUNS} runs)`, () => {
    const ip = fc.oneof(fc.ipV4(), fc.ipV6());
    fc.assert(
      fc.property(ip, fc.integer({ min: 1, max: 65535 }), (addr, port) => {
        const parsed = parseAuthority(formatAuthority({ ip: addr, port }));
        return parsed.port === port && formatAuthority(parsed) === formatAuthority({ ip: addr, port });
      }),
      { numRuns: RUNS },
    );
  });

  const refused = ['', 'backend.demo:80', '10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '[::1]', '::1:80', '10.0.0.1:80:80', ' 10.0.0.1:80'];
  for (const input of refused) {
    it(`refuses ${JSON.stringify(input)} with HBONE_BAD_AUTHORITY`, () => {
      assert.throws(() => parseAuthority(input), (e: unknown) => e instanceof HboneError && e.code === 'HBONE_BAD_AUTHORITY');
    });
  }
});
