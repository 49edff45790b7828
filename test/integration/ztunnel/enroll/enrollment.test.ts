import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EnrollError,
  EnrollmentClient,
  EnrollmentServer,
  EnrollRejectedError,
  DEFAULT_MAX_FRAME_BYTES,
  type EnrollmentLimits,
  type PodInfo,
} from '../../../../src/ztunnel/enroll/index.js';
import { Registry } from 'prom-client';
import { encodeFrame, FrameDecoder } from '../../../../src/ztunnel/enroll/protocol.js';
import { FakePodCapture } from '../../../unit/ztunnel/enroll/fake-pod-capture.js';

/** A raw connection that reads frames as JSON: for sending what the client never would. */
class RawConnection {
  private readonly decoder = new FrameDecoder();
  private readonly frames: unknown[] = [];
  private waiting: (() => void) | undefined;
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (b: Buffer) => {
      for (const f of this.decoder.push(b)) this.frames.push(JSON.parse(f.toString()));
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => undefined);
  }

  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  async next(timeoutMs = 2_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed || Date.now() > deadline) throw new Error('no frame');
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 50);
      });
    }
    return this.frames.shift();
  }

  waitClosed(timeoutMs = 2_000): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(true);
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}

describe('enrollment over a Unix socket', () => {
  let dir: string;
  let socketPath: string;
  let fake: FakePodCapture;
  let server: EnrollmentServer;
  const clients: { close(): void }[] = [];
  const raws: RawConnection[] = [];
  const extraServers: net.Server[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-enroll-it-'));
    socketPath = join(dir, 'run', 'ztunnel.sock');
    fake = new FakePodCapture();
    server = new EnrollmentServer({ capture: fake, socketPath, recordsFile: join(dir, 'pods.json'), limits: { podCgroupRoot: '/cg' } });
    await server.start();
  });

  /** Replaces the server with one that has these limits and its own metrics registry. */
  async function restartWith(limits: Partial<EnrollmentLimits>): Promise<Registry> {
    await server.close();
    const metrics = new Registry();
    server = new EnrollmentServer({ capture: fake, socketPath, recordsFile: null, metrics, limits: { podCgroupRoot: '/cg', ...limits } });
    await server.start();
    return metrics;
  }

  async function limitHits(metrics: Registry, limit: string): Promise<number> {
    const m = new RegExp(`^ambit_enrollment_limit_hits_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(await metrics.metrics());
    return Number(m?.[1] ?? 0);
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const r of raws.splice(0)) r.socket.destroy();
    for (const s of extraServers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
    await server.close();
    await fake.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function pod(n: number): PodInfo {
    const netnsPath = join(dir, `netns-${n}`);
    writeFileSync(netnsPath, '', { flag: 'a' });
    return { uid: `uid-${n}`, name: `pod-${n}`, namespace: 'ns', netnsPath, cgroupPath: `/cg/pod-${n}`, ips: [`10.251.0.${n + 1}`] };
  }

  async function client(requestTimeoutMs?: number): Promise<EnrollmentClient> {
    const c = await EnrollmentClient.connect({ socketPath, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) });
    clients.push(c);
    return c;
  }

  async function raw(): Promise<RawConnection> {
    const r = await RawConnection.open(socketPath);
    raws.push(r);
    assert.deepEqual(await r.next(), { type: 'Hello', version: 1 });
    return r;
  }

  const uids = (): string[] => server.registry.list().map((p) => p.info.uid);

  it('acks AddPod, a duplicate AddPod, DelPod and DelPod of an unknown pod', async () => {
    const c = await client();
    await c.addPod(pod(1));
    await c.addPod(pod(1));
    assert.deepEqual(uids(), ['uid-1']);
    await c.checkPod('uid-1');
    await c.delPod('uid-1');
    await c.delPod('uid-1');
    await c.delPod('never-seen');
    assert.deepEqual(uids(), []);
  });

  it('answers CheckPod for a pod it does not hold with ENROLL_NOT_ENROLLED', async () => {
    const c = await client();
    await assert.rejects(
      c.checkPod('uid-9'),
      (e: unknown) => e instanceof EnrollRejectedError && e.remoteCode === 'ENROLL_NOT_ENROLLED',
    );
  });

  it('reconciles to a snapshot sent on a new connection', async () => {
    const c1 = await client();
    await c1.addPod(pod(1));
    await c1.addPod(pod(2));
    c1.close();
    const c2 = await client();
    await c2.snapshot([pod(2), pod(3)]);
    assert.deepEqual(uids(), ['uid-2', 'uid-3']);
    assert.equal(server.snapshotReceived, true);
  });

  it('answers requests sent back to back in order, one reply each', async () => {
    const c = await client();
    await Promise.all([c.addPod(pod(1)), c.addPod(pod(2)), c.delPod('uid-1'), c.addPod(pod(3))]);
    assert.deepEqual(uids(), ['uid-2', 'uid-3']);
  });

  const malformed: { name: string; bytes: () => Buffer; reply: { id: number | null; code: string } }[] = [
    { name: 'a frame that is not JSON', bytes: () => Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{oops')]), reply: { id: null, code: 'ENROLL_MALFORMED' } },
    { name: 'a message of unknown type', bytes: () => encodeFrame({ type: 'Nope', id: 4 }), reply: { id: 4, code: 'ENROLL_INVALID_MESSAGE' } },
    { name: 'an AddPod with a bad address', bytes: () => encodeFrame({ type: 'AddPod', id: 5, ...pod(7), ips: ['x'] }), reply: { id: 5, code: 'ENROLL_INVALID_MESSAGE' } },
  ];
  for (const m of malformed) {
    it(`answers ${m.name} with an Error and keeps the connection and the other pods`, async () => {
      const c = await client();
      await c.addPod(pod(1));
      const r = await raw();
      r.socket.write(m.bytes());
      const reply = (await r.next()) as { type: string; id: number | null; code: string; message: string };
      assert.deepEqual({ type: reply.type, id: reply.id, code: reply.code }, { type: 'Error', ...m.reply });
      assert.ok(reply.message.length > 0);
      r.socket.write(encodeFrame({ type: 'AddPod', id: 6, ...pod(2) }));
      assert.deepEqual(await r.next(), { type: 'Ack', id: 6 });
      await c.checkPod('uid-1');
      assert.deepEqual(uids(), ['uid-1', 'uid-2']);
    });
  }

  it('answers an oversized frame with an Error and hangs up, leaving other connections alone', async () => {
    const c = await client();
    await c.addPod(pod(1));
    const r = await raw();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(DEFAULT_MAX_FRAME_BYTES + 1);
    r.socket.write(header);
    assert.deepEqual(await r.next(), {
      type: 'Error',
      id: null,
      code: 'ENROLL_FRAME_TOO_LARGE',
      message: `frame of ${DEFAULT_MAX_FRAME_BYTES + 1} bytes exceeds ${DEFAULT_MAX_FRAME_BYTES}`,
    });
    assert.equal(await r.waitClosed(), true);
    await c.checkPod('uid-1');
  });

  it('enforces a configured frame size, counting the hit, while another connection carries on', async () => {
    const metrics = await restartWith({ maxFrameBytes: 1024 });
    const c = await client();
    const r = await raw();
    r.socket.write(encodeFrame({ type: 'DelPod', id: 1, uid: 'x'.repeat(1100) }));
    const reply = (await r.next()) as { code: string; message: string };
    assert.deepEqual([reply.code, reply.message], ['ENROLL_FRAME_TOO_LARGE', 'frame of 1133 bytes exceeds 1024']);
    assert.equal(await r.waitClosed(), true);
    await c.addPod(pod(1));
    assert.equal(await limitHits(metrics, 'frame_size'), 1);
  });

  it('closes a connection that sends nothing for the idle timeout, with an Error saying so', async () => {
    const metrics = await restartWith({ idleTimeoutMs: 150 });
    const r = await raw();
    const reply = (await r.next(3_000)) as { type: string; id: null; code: string };
    assert.deepEqual([reply.type, reply.id, reply.code], ['Error', null, 'ENROLL_IDLE_TIMEOUT']);
    assert.equal(await r.waitClosed(), true);
    assert.equal(await limitHits(metrics, 'idle_timeout'), 1);
    // A partial frame is not a request: it does not hold the connection open either.
    const partial = await raw();
    partial.socket.write(Buffer.from([0, 0, 1, 0, 0x7b]));
    assert.equal(((await partial.next(3_000)) as { code: string }).code, 'ENROLL_IDLE_TIMEOUT');
    assert.equal(await partial.waitClosed(), true);
    const c = await client();
    await c.addPod(pod(1));
  });

  it('refuses connections over the cap with ENROLL_TOO_MANY_CONNECTIONS and serves again once one closes', async () => {
    const metrics = await restartWith({ maxConnections: 2 });
    const a = await raw();
    await raw();
    await assert.rejects(
      EnrollmentClient.connect({ socketPath }),
      (e: unknown) => e instanceof EnrollRejectedError && e.remoteCode === 'ENROLL_TOO_MANY_CONNECTIONS' && e.message.includes('2 connections'),
    );
    assert.equal(await limitHits(metrics, 'max_connections'), 1);
    a.socket.destroy();
    await a.waitClosed();
    let c: EnrollmentClient | undefined;
    for (let i = 0; i < 50 && c === undefined; i++) {
      // The server learns of the close asynchronously: retry a bounded number of times.
      c = await EnrollmentClient.connect({ socketPath }).catch(() => undefined);
    }
    assert.ok(c, 'a connection is accepted again after one closed');
    clients.push(c);
    await c.addPod(pod(1));
  });

  it('refuses a pod whose cgroup is the root or outside the pod cgroup root, keeping the connection', async () => {
    const r = await raw();
    for (const [id, cgroupPath] of [[11, '/'], [12, '/cg'], [13, '/sys/fs/cgroup/unified']] as const) {
      r.socket.write(encodeFrame({ type: 'AddPod', id, ...pod(3), cgroupPath }));
      const reply = (await r.next()) as { id: number; code: string; message: string };
      assert.deepEqual([reply.id, reply.code], [id, 'ENROLL_INVALID_MESSAGE']);
      assert.match(reply.message, /^AddPod\.cgroupPath: .* is not under the pod cgroup root \/cg$/);
    }
    r.socket.write(encodeFrame({ type: 'AddPod', id: 14, ...pod(3) }));
    assert.deepEqual(await r.next(), { type: 'Ack', id: 14 });
    assert.deepEqual(fake.attached.size, 1);
  });

  it('reports a capture failure as an Error reply carrying ENROLL_CAPTURE_FAILED', async () => {
    const c = await client();
    fake.failAttach.add('uid-1');
    await assert.rejects(c.addPod(pod(1)), (e: unknown) => e instanceof EnrollRejectedError && e.remoteCode === 'ENROLL_CAPTURE_FAILED');
  });

  it('fails with ENROLL_UNREACHABLE when no agent listens', async () => {
    await assert.rejects(
      EnrollmentClient.connect({ socketPath: join(dir, 'absent.sock') }),
      (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_UNREACHABLE',
    );
  });

  it('times out a request the agent never answers', async () => {
    const silentPath = join(dir, 'silent.sock');
    const silent = net.createServer((s) => s.resume().write(encodeFrame({ type: 'Hello', version: 1 })));
    extraServers.push(silent);
    await new Promise<void>((r) => silent.listen(silentPath, r));
    const c = await EnrollmentClient.connect({ socketPath: silentPath, requestTimeoutMs: 100 });
    clients.push(c);
    await assert.rejects(c.delPod('x'), (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_TIMEOUT');
  });

  it('times out a connection the agent never greets, and refuses another protocol version', async () => {
    const mutePath = join(dir, 'mute.sock');
    const mute = net.createServer((s) => s.resume());
    extraServers.push(mute);
    await new Promise<void>((r) => mute.listen(mutePath, r));
    await assert.rejects(
      EnrollmentClient.connect({ socketPath: mutePath, connectTimeoutMs: 100 }),
      (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_TIMEOUT',
    );
    const v2Path = join(dir, 'v2.sock');
    const v2 = net.createServer((s) => s.resume().write(encodeFrame({ type: 'Hello', version: 2 })));
    extraServers.push(v2);
    await new Promise<void>((r) => v2.listen(v2Path, r));
    await assert.rejects(
      EnrollmentClient.connect({ socketPath: v2Path }),
      (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_UNSUPPORTED_VERSION',
    );
  });

  it('fails pending requests when the agent goes away', async () => {
    const c = await client();
    await server.close();
    await assert.rejects(c.addPod(pod(1)), (e: unknown) => e instanceof EnrollError);
  });
});
