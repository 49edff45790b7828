import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalIp, formatIp, parseIp, parseIpExact, unmapIpv4 } from '../../../../src/shared/net/index.js';

/** RFC 5952 text as the WHATWG URL parser prints an IPv6 host: an independent oracle. */
function urlCanonical(v6: string): string {
  return new URL(`http://[${v6}]/`).hostname.slice(1, -1);
}

describe('shared/net IP addresses', () => {
  const parses: [string, number[] | undefined][] = [
    ['10.1.2.3', [10, 1, 2, 3]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['2001:db8::ff00:42:8329', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]],
    ['fe80::1%eth0', [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::ffff:10.0.0.5', [10, 0, 0, 5]],
    ['::FFFF:10.0.0.5', [10, 0, 0, 5]],
    ['::ffff:a00:5', [10, 0, 0, 5]],
    ['64:ff9b::10.0.0.5', [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 5]],
    ['::10.0.0.5', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 5]],
    ['1:2:3:4:5:6:10.0.0.5', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 10, 0, 0, 5]],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ['10.0.0', undefined],
    ['10.0.0.256', undefined],
    ['010.0.0.1', undefined],
    ['fd00:::1', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['10.0.0.0/8', undefined],
    ['[::1]', undefined],
    ['not-an-ip', undefined],
    ['', undefined],
  ];
  for (const [text, want] of parses) {
    it(`parses "${text}" as ${want === undefined ? 'not an IP' : want.join('.')}`, () => {
      const got = parseIp(text);
      assert.deepEqual(got === undefined ? undefined : [...got], want);
    });
  }

  it('the exact parser keeps an IPv4-mapped address as 16 bytes; unmapIpv4 turns it into IPv4', () => {
    const mapped = parseIpExact('::ffff:1.2.3.4');
    assert.deepEqual(mapped && [...mapped], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    assert.deepEqual(mapped && [...unmapIpv4(mapped)], [1, 2, 3, 4]);
    const other = parseIpExact('::fffe:1.2.3.4');
    assert.equal(other && unmapIpv4(other).length, 16);
  });

  const formats: [string, string][] = [
    ['10.1.2.3', '10.1.2.3'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['FD00::ABCD', 'fd00::abcd'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fd00::9', 'fd00::9'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
  ];
  for (const [text, want] of formats) {
    it(`formats ${text} canonically as ${want}`, () => {
      assert.equal(canonicalIp(text), want);
    });
  }

  it('bytes of another length format as a visible placeholder instead of throwing', () => {
    assert.equal(formatIp(new Uint8Array(5)), '<5 bytes>');
  });

  it('property: format(parse(x)) is canonical and parses back to the same bytes', () => {
    const text = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended().filter((t) => parseIp(t) !== undefined));
    fc.assert(
      fc.property(text, (x) => {
        const bytes = parseIp(x);
        if (bytes === undefined) return; // fast-check's IPv4 "extended" forms (octal, short) are not IP literals here
        const out = formatIp(bytes);
        assert.deepEqual(parseIp(out), bytes, `${x} -> ${out}`);
        assert.equal(formatIp(parseIp(out) as Uint8Array), out);
        if (bytes.length === 16) assert.equal(out, urlCanonical(x), `${x}: RFC 5952 form`);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: any 4 or 16 bytes format to text that parses back to them', () => {
    const bytes = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    fc.assert(
      fc.property(bytes, (b) => {
        assert.deepEqual(parseIpExact(formatIp(b)), b);
      }),
      { numRuns: 5000 },
    );
  });
});
