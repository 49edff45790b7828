import assert from 'node:assert/strict';
import { allocateClusterIp, hostsFile } from '../../../../src/mesh/workloads/name-resolution.js';

/** 10.96.x.y as the number x * 256 + y, for range checks. */
function offsetIn1096(ip: string): number {
  const parts = ip.split('.').map(Number);
  assert.deepEqual(parts.slice(0, 2), [10, 96], `${ip} is not in 10.96.0.0/16`);
  assert.ok(
    parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255),
    `${ip} is not an IPv4 address`,
  );
  return parts[2]! * 256 + parts[3]!;
}

const FIRST = 1 * 256 + 0; // 10.96.1.0
const LAST = 255 * 256 + 254; // 10.96.255.254

describe('mesh workloads: name resolution', () => {
  describe('allocateClusterIp', () => {
    it('gives addresses inside 10.96.1.0-10.96.255.254', () => {
      for (let i = 0; i < 2000; i++) {
        const n = offsetIn1096(allocateClusterIp(`ns-${i % 7}`, `svc-${i}`, new Set()));
        assert.ok(n >= FIRST && n <= LAST, `offset ${n} of svc-${i} is outside the allocated range`);
      }
    });

    it('is stable per namespace/name and differs between names', () => {
      const a = allocateClusterIp('bookinfo', 'reviews', new Set());
      assert.equal(allocateClusterIp('bookinfo', 'reviews', new Set()), a);
      assert.notEqual(allocateClusterIp('bookinfo', 'ratings', new Set()), a);
      assert.notEqual(allocateClusterIp('other', 'reviews', new Set()), a);
    });

    it('steps past taken addresses to the next free one', () => {
      const first = allocateClusterIp('bookinfo', 'reviews', new Set());
      const second = allocateClusterIp('bookinfo', 'reviews', new Set([first]));
      assert.notEqual(second, first);
      const third = allocateClusterIp('bookinfo', 'reviews', new Set([first, second]));
      assert.ok(![first, second].includes(third));
      assert.equal(offsetIn1096(second), offsetIn1096(first) + 1);
    });

    it('wraps from 10.96.255.254 to 10.96.1.0, never giving .255.255 or 10.96.0.x', () => {
      // Find a name whose first choice is the last address of the range.
      let name = '';
      for (let i = 0; i < 2_000_000 && name === ''; i++) {
        if (allocateClusterIp('wrap', `s${i}`, new Set()) === '10.96.255.254') name = `s${i}`;
      }
      assert.notEqual(name, '', 'no name hashed to the last address');
      assert.equal(allocateClusterIp('wrap', name, new Set(['10.96.255.254'])), '10.96.1.0');
    });
  });

  describe('hostsFile', () => {
    const pod = { name: 'productpage-v1-7d4b9c8f5-bcdfg', namespace: 'bookinfo', ip: '10.10.1.4' };
    const services = [
      { namespace: 'bookinfo', name: 'reviews', clusterIp: '10.96.3.1' },
      { namespace: 'other', name: 'httpbin', clusterIp: '10.96.4.2' },
    ];

    function lineOf(text: string, ip: string): string[] {
      const line = text.split('\n').find((l) => l.startsWith(`${ip} `));
      assert.ok(line !== undefined, `no line for ${ip} in\n${text}`);
      return line.split(' ').slice(1);
    }

    it('has the localhost lines and the pod its own name', () => {
      const text = hostsFile(pod, []);
      assert.deepEqual(lineOf(text, '127.0.0.1'), ['localhost']);
      assert.ok(lineOf(text, '::1').includes('localhost'));
      assert.deepEqual(lineOf(text, pod.ip), [pod.name]);
      assert.ok(text.endsWith('\n'));
    });

    const cases: { name: string; ip: string; want: string[] }[] = [
      {
        name: "a Service in the pod's namespace answers to its short name too",
        ip: '10.96.3.1',
        want: ['reviews', 'reviews.bookinfo', 'reviews.bookinfo.svc', 'reviews.bookinfo.svc.cluster.local'],
      },
      {
        name: 'a Service in another namespace answers only to qualified names',
        ip: '10.96.4.2',
        want: ['httpbin.other', 'httpbin.other.svc', 'httpbin.other.svc.cluster.local'],
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.want.join(' ')}`, () => {
        assert.deepEqual(lineOf(hostsFile(pod, services), c.ip).sort(), [...c.want].sort());
      });
    }

    it('does not depend on the order Services are given in', () => {
      assert.equal(hostsFile(pod, [...services].reverse()), hostsFile(pod, services));
    });
  });
});
