import assert from 'node:assert/strict';
import { EnrollError } from '../../../../src/ztunnel/enroll/errors.js';
import {
  decodeRequest,
  decodeServerMessage,
  encodeFrame,
  FrameDecoder,
  PROTOCOL_MAX_FRAME_BYTES,
  parseFrame,
} from '../../../../src/ztunnel/enroll/protocol.js';

const pod = {
  uid: '5f0c2b1e-0000-4000-8000-000000000001',
  name: 'web-0',
  namespace: 'default',
  netnsPath: '/run/netns/web-0',
  cgroupPath: '/sys/fs/cgroup/unified/web-0',
  ips: ['10.251.0.2'],
};

function code(c: string) {
  return (e: unknown): boolean => e instanceof EnrollError && e.code === c;
}

describe('enrollment protocol', () => {
  describe('framing', () => {
    it('prefixes the JSON with its length as a 4-byte big-endian number', () => {
      const f = encodeFrame({ a: 1 });
      assert.equal(f.readUInt32BE(0), f.length - 4);
      assert.deepEqual(JSON.parse(f.subarray(4).toString()), { a: 1 });
    });

    it('reassembles frames split across chunks and splits frames sharing a chunk', () => {
      const bytes = Buffer.concat([encodeFrame({ n: 1 }), encodeFrame({ n: 2 }), encodeFrame({ n: 3 })]);
      const d = new FrameDecoder();
      const out: unknown[] = [];
      for (let i = 0; i < bytes.length; i += 5) {
        for (const f of d.push(bytes.subarray(i, i + 5))) out.push(JSON.parse(f.toString()));
      }
      assert.deepEqual(out, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      assert.equal(d.pendingBytes, 0);
    });

    it('refuses a frame that announces more than the protocol maximum', () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(PROTOCOL_MAX_FRAME_BYTES + 1);
      assert.throws(() => new FrameDecoder().push(header), code('ENROLL_FRAME_TOO_LARGE'));
    });

    it('refuses a frame over its own limit, naming the size and the limit', () => {
      const d = new FrameDecoder(100);
      assert.deepEqual(d.push(encodeFrame({ s: 'x'.repeat(80) })).length, 1);
      assert.throws(
        () => d.push(encodeFrame({ s: 'x'.repeat(100) })),
        (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_FRAME_TOO_LARGE' && e.message === 'frame of 108 bytes exceeds 100',
      );
    });

    it('holds only the bytes that arrived, not what a header announced', () => {
      const d = new FrameDecoder();
      const header = Buffer.alloc(4);
      header.writeUInt32BE(PROTOCOL_MAX_FRAME_BYTES);
      assert.deepEqual(d.push(Buffer.concat([header, Buffer.from('{"a":')])), []);
      assert.equal(d.pendingBytes, 9);
    });

    it('decodes a header split across chunks and a frame of zero length', () => {
      const d = new FrameDecoder();
      const f = encodeFrame({ n: 1 });
      assert.deepEqual(d.push(f.subarray(0, 2)), []);
      assert.deepEqual(d.push(f.subarray(2, 3)), []);
      const out = d.push(Buffer.concat([f.subarray(3), Buffer.from([0, 0, 0, 0])]));
      assert.deepEqual(out.map((b) => b.toString()), ['{"n":1}', '']);
      assert.equal(d.pendingBytes, 0);
    });

    it('refuses a body that is not a JSON object', () => {
      assert.throws(() => parseFrame(Buffer.from('{nope')), code('ENROLL_MALFORMED'));
      assert.throws(() => parseFrame(Buffer.from('[1]')), code('ENROLL_MALFORMED'));
    });
  });

  describe('requests', () => {
    it('decodes AddPod, DelPod, Snapshot and CheckPod', () => {
      assert.deepEqual(decodeRequest({ type: 'AddPod', id: 1, ...pod }), { type: 'AddPod', id: 1, ...pod });
      assert.deepEqual(decodeRequest({ type: 'DelPod', id: 2, uid: pod.uid }), { type: 'DelPod', id: 2, uid: pod.uid });
      assert.deepEqual(decodeRequest({ type: 'Snapshot', id: 3, pods: [pod] }), { type: 'Snapshot', id: 3, pods: [pod] });
      assert.deepEqual(decodeRequest({ type: 'CheckPod', id: 4, uid: pod.uid }), { type: 'CheckPod', id: 4, uid: pod.uid });
    });

    const invalid: { name: string; msg: Record<string, unknown>; field: string }[] = [
      { name: 'no id', msg: { type: 'DelPod', uid: 'a' }, field: 'id' },
      { name: 'a negative id', msg: { type: 'DelPod', id: -1, uid: 'a' }, field: 'id' },
      { name: 'an unknown type', msg: { type: 'KeepPod', id: 1 }, field: 'type' },
      { name: 'an AddPod without uid', msg: { type: 'AddPod', id: 1, ...pod, uid: undefined }, field: 'AddPod.uid' },
      { name: 'a uid with a slash', msg: { type: 'AddPod', id: 1, ...pod, uid: 'a/b' }, field: 'AddPod.uid' },
      { name: 'a relative netns path', msg: { type: 'AddPod', id: 1, ...pod, netnsPath: 'run/netns/x' }, field: 'AddPod.netnsPath' },
      { name: 'a cgroup path with ..', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/sys/../etc' }, field: 'AddPod.cgroupPath' },
      { name: 'the root cgroup', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/sys/fs/cgroup' }, field: 'AddPod.cgroupPath' },
      { name: 'the filesystem root as cgroup', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/' }, field: 'AddPod.cgroupPath' },
      { name: 'a cgroup outside the pod cgroup root', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/etc/x' }, field: 'AddPod.cgroupPath' },
      { name: 'a cgroup in a sibling of the root', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/sys/fs/cgroupx/a' }, field: 'AddPod.cgroupPath' },
      { name: 'a cgroup path with //', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/sys/fs/cgroup//a' }, field: 'AddPod.cgroupPath' },
      { name: 'a cgroup path with /./', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/sys/fs/cgroup/./a' }, field: 'AddPod.cgroupPath' },
      { name: 'a cgroup path ending in /', msg: { type: 'AddPod', id: 1, ...pod, cgroupPath: '/sys/fs/cgroup/unified/' }, field: 'AddPod.cgroupPath' },
      { name: 'a snapshot pod in the root cgroup', msg: { type: 'Snapshot', id: 1, pods: [{ ...pod, cgroupPath: '/sys/fs/cgroup' }] }, field: 'Snapshot.pods[0].cgroupPath' },
      { name: 'ips that is not an array', msg: { type: 'AddPod', id: 1, ...pod, ips: '10.0.0.1' }, field: 'AddPod.ips' },
      { name: 'an ip that is not an address', msg: { type: 'AddPod', id: 1, ...pod, ips: ['10.0.0.1', '10.0.0'] }, field: 'AddPod.ips[1]' },
      { name: 'an empty namespace', msg: { type: 'AddPod', id: 1, ...pod, namespace: '' }, field: 'AddPod.namespace' },
      { name: 'a snapshot without pods', msg: { type: 'Snapshot', id: 1 }, field: 'Snapshot.pods' },
      { name: 'a snapshot pod without name', msg: { type: 'Snapshot', id: 1, pods: [pod, { ...pod, uid: 'b', name: 3 }] }, field: 'Snapshot.pods[1].name' },
      { name: 'a snapshot with a uid twice', msg: { type: 'Snapshot', id: 1, pods: [pod, pod] }, field: 'Snapshot.pods[1].uid' },
    ];
    for (const c of invalid) {
      it(`rejects ${c.name}, naming ${c.field}`, () => {
        assert.throws(
          () => decodeRequest(c.msg),
          (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_INVALID_MESSAGE' && e.message.startsWith(`${c.field}:`),
        );
      });
    }

    it('accepts only cgroups strictly under the configured pod cgroup root', () => {
      const limits = { podCgroupRoot: '/sys/fs/cgroup/unified/a9m' };
      const at = (cgroupPath: string) => () => decodeRequest({ type: 'AddPod', id: 1, ...pod, cgroupPath }, limits);
      assert.equal((at('/sys/fs/cgroup/unified/a9m/web-0')() as { cgroupPath: string }).cgroupPath, '/sys/fs/cgroup/unified/a9m/web-0');
      for (const bad of ['/sys/fs/cgroup/unified/a9m', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/unified/a9mx/web-0', '/sys/fs/cgroup/unified/other/web-0']) {
        assert.throws(at(bad), (e: unknown) => e instanceof EnrollError && e.message.includes('is not under the pod cgroup root /sys/fs/cgroup/unified/a9m'), bad);
      }
    });

    it('quotes an offending value in at most 80 characters', () => {
      assert.throws(
        () => decodeRequest({ type: 'x'.repeat(10_000), id: 1 }),
        (e: unknown) => e instanceof EnrollError && e.message.length < 200,
      );
    });

    it('accepts IPv6 addresses and an optional service account', () => {
      const r = decodeRequest({ type: 'AddPod', id: 1, ...pod, ips: ['fd00::2'], serviceAccount: 'web' });
      assert.equal(r.type === 'AddPod' && r.serviceAccount, 'web');
    });
  });

  describe('server messages', () => {
    it('decodes Hello, Ack and Error, including an Error that no request id fits', () => {
      assert.deepEqual(decodeServerMessage({ type: 'Hello', version: 1 }), { type: 'Hello', version: 1 });
      assert.deepEqual(decodeServerMessage({ type: 'Ack', id: 7 }), { type: 'Ack', id: 7 });
      assert.deepEqual(decodeServerMessage({ type: 'Error', id: null, code: 'X', message: 'm' }), {
        type: 'Error',
        id: null,
        code: 'X',
        message: 'm',
      });
    });

    it('rejects an Ack without id', () => {
      assert.throws(() => decodeServerMessage({ type: 'Ack' }), code('ENROLL_INVALID_MESSAGE'));
    });
  });
});
