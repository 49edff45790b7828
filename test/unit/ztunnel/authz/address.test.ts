import assert from 'node:assert/strict';
import { cidrContains, cidrFromWire, formatIp, parseIp } from '../../../../src/ztunnel/authz/index.js';

describe('ztunnel/authz addresses', () => {
  const parses: [string, number[] | undefined][] = [
    ['10.1.2.3', [10, 1, 2, 3]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['2001:db8::ff00:42:8329', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]],
    ['fe80::1%eth0', [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::ffff:10.0.0.5', [10, 0, 0, 5]],
    ['64:ff9b::10.0.0.5', [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 5]],
    ['10.0.0', undefined],
    ['10.0.0.256', undefined],
    ['not-an-ip', undefined],
    ['', undefined],
  ];
  for (const [text, want] of parses) {
    it(`parses "${text}" as ${want === undefined ? 'not an IP' : want.join('.')}`, () => {
      const got = parseIp(text);
      assert.deepEqual(got === undefined ? undefined : [...got], want);
    });
  }

  const formats: [string, string][] = [
    ['10.1.2.3', '10.1.2.3'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['fd00::9', 'fd00::9'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [text, want] of formats) {
    it(`formats ${text} as ${want}`, () => {
      assert.equal(formatIp(parseIp(text) as Uint8Array), want);
    });
  }

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
});
