import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  cidrContains,
  cidrFromWire,
  cidrsOverlap,
  formatCidr,
  maskCidr,
  parseCidr,
  parseIp,
  parseIpExact,
  parsePrefix,
} from '../../../../src/shared/net/index.js';

describe('shared/net CIDR prefixes', () => {
  const contains: [string, number, string, boolean][] = [
    ['10.0.0.0', 8, '10.255.1.1', true],
    ['10.0.0.0', 8, '11.0.0.0', false],
    ['10.0.0.7', 24, '10.0.0.200', true],
    ['10.0.16.0', 20, '10.0.31.255', true],
    ['10.0.16.0', 20, '10.0.32.0', false],
    ['0.0.0.0', 0, '203.0.113.9', true],
    ['0.0.0.0', 0, '::1', false],
    ['10.0.0.5', 32, '10.0.0.5', true],
    ['10.0.0.5', 32, '10.0.0.4', false],
    ['fd00::', 8, 'fdff::1', true],
    ['fd00::', 9, 'fd80::1', false],
    ['2001:db8::1', 128, '2001:db8::1', true],
    ['::', 0, '10.0.0.1', false],
  ];
  for (const [net, bits, ip, want] of contains) {
    it(`${net}/${bits} ${want ? 'contains' : 'does not contain'} ${ip}`, () => {
      const cidr = cidrFromWire(parseIp(net) as Uint8Array, bits);
      assert.ok(cidr !== undefined);
      assert.equal(cidrContains(cidr, parseIp(ip) as Uint8Array), want);
    });
  }

  it('rejects wire prefixes of the wrong size or length', () => {
    assert.equal(cidrFromWire(new Uint8Array(5), 8), undefined);
    assert.equal(cidrFromWire(new Uint8Array(4), 33), undefined);
    assert.equal(cidrFromWire(new Uint8Array(16), 129), undefined);
    assert.notEqual(cidrFromWire(new Uint8Array(16), 128), undefined);
  });

  const texts: [string, string | undefined][] = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.0.0.5/24', '10.0.0.5/24'],
    ['fd00::/8', 'fd00::/8'],
    ['::ffff:10.0.0.0/104', undefined],
    ['::ffff:10.0.0.0/16', '10.0.0.0/16'],
    ['10.0.0.1/33', undefined],
    ['fd00::/129', undefined],
    ['10.0.0.1', undefined],
    ['10.0.0.1/x', undefined],
    ['10.0.0.1/', undefined],
    ['/8', undefined],
  ];
  for (const [text, want] of texts) {
    it(`CIDR "${text}" parses to ${want ?? 'nothing'}`, () => {
      const c = parseCidr(text);
      assert.equal(c === undefined ? undefined : formatCidr(c), want);
    });
  }

  it('a prefix may be a bare IP, meaning its host prefix', () => {
    assert.equal(formatCidr(parsePrefix('10.1.2.3') as never), '10.1.2.3/32');
    assert.equal(formatCidr(parsePrefix('fd00::1') as never), 'fd00::1/128');
    assert.equal(parsePrefix('10.1.2.3/x'), undefined);
    // With the exact parser, an IPv4-mapped prefix stays IPv6.
    assert.equal(parsePrefix('::ffff:1.2.3.4', parseIpExact)?.bits, 128);
  });

  it('masking clears the host bits only', () => {
    assert.equal(formatCidr(maskCidr(parseCidr('10.1.2.3/20') as never)), '10.1.0.0/20');
    assert.equal(formatCidr(maskCidr(parseCidr('fd00::ffff/120') as never)), 'fd00::ff00/120');
    assert.equal(formatCidr(maskCidr(parseCidr('10.1.2.3/0') as never)), '0.0.0.0/0');
  });

  const overlaps: [string, string, boolean][] = [
    ['10.250.0.0/24', '10.251.0.0/16', false],
    ['10.0.0.0/8', '10.251.0.0/16', true],
    ['10.251.3.0/24', '10.251.0.0/16', true],
    ['fd00::/8', '10.0.0.0/8', false],
  ];
  for (const [a, b, want] of overlaps) {
    it(`${a} and ${b} ${want ? 'overlap' : 'do not overlap'}`, () => {
      assert.equal(cidrsOverlap(parseCidr(a) as never, parseCidr(b) as never), want);
    });
  }

  it('property: a prefix contains exactly the addresses that agree with it on its first bits', () => {
    const family = fc.oneof(fc.constant(4), fc.constant(16));
    const arb = family.chain((n) =>
      fc.tuple(fc.uint8Array({ minLength: n, maxLength: n }), fc.uint8Array({ minLength: n, maxLength: n }), fc.integer({ min: 0, max: n * 8 })),
    );
    fc.assert(
      fc.property(arb, ([net, ip, bits]) => {
        const c = cidrFromWire(net, bits);
        assert.ok(c);
        const agree = [...Array(bits).keys()].every((i) => (((net[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === (((ip[i >> 3] ?? 0) >> (7 - (i & 7))) & 1));
        assert.equal(cidrContains(c, ip), agree);
        assert.equal(cidrContains(c, net), true);
      }),
      { numRuns: 2000 },
    );
  });
});
