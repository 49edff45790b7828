import assert from 'node:assert/strict';
import { bytesToIp, ipToBytes, maskPrefix, parsePrefix } from '../../../../src/istiod/index/ip.js';

describe('istiod/index/ip', () => {
  const roundTrips: { text: string; bytes: number[]; canonical?: string }[] = [
    { text: '10.0.0.1', bytes: [10, 0, 0, 1] },
    { text: '::1', bytes: [...new Array<number>(15).fill(0), 1] },
    { text: 'fd00::11', bytes: [0xfd, 0, ...new Array<number>(13).fill(0), 0x11] },
    {
      text: '2001:db8:0:0:1:0:0:1',
      bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
      canonical: '2001:db8::1:0:0:1',
    },
    {
      text: '::ffff:1.2.3.4',
      bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4],
      canonical: '::ffff:102:304',
    },
    { text: '1:2:3:4:5:6:7:8', bytes: [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8] },
  ];
  for (const c of roundTrips) {
    it(`${c.text} is ${c.bytes.length} bytes and prints as ${c.canonical ?? c.text}`, () => {
      const b = ipToBytes(c.text);
      assert.deepEqual(b, new Uint8Array(c.bytes));
      assert.equal(bytesToIp(b as Uint8Array), c.canonical ?? c.text);
    });
  }

  for (const bad of ['', '1.2.3', '256.1.1.1', 'fd00:::1', 'host.example.com', '1:2:3:4:5:6:7:8:9']) {
    it(`"${bad}" is not an IP`, () => {
      assert.equal(ipToBytes(bad), undefined);
    });
  }

  const prefixes: { text: string; want: [number[], number] | undefined }[] = [
    { text: '10.1.2.3', want: [[10, 1, 2, 3], 32] },
    { text: '10.1.2.3/8', want: [[10, 0, 0, 0], 8] },
    { text: '10.1.2.3/33', want: undefined },
    { text: '10.1.2.3/x', want: undefined },
    { text: '10.1.2.3/0', want: [[0, 0, 0, 0], 0] },
  ];
  for (const c of prefixes) {
    it(`prefix ${c.text} masks to ${JSON.stringify(c.want)}`, () => {
      const p = parsePrefix(c.text);
      if (c.want === undefined) return assert.equal(p, undefined);
      assert.ok(p);
      const m = maskPrefix(p);
      assert.deepEqual([[...m.address], m.bits], c.want);
    });
  }
});
