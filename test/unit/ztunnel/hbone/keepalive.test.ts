import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';
import { SessionKeepalive, type KeepaliveFailure } from '../../../../src/ztunnel/hbone/index.js';

/** Just what the keepalive touches of an Http2Session. */
class FakeSession extends EventEmitter {
  destroyed = false;
  closed = false;
  pings = 0;
  pending: ((err: Error | null) => void) | undefined;
  throwOnPing = false;
  ping(cb: (err: Error | null) => void): boolean {
    if (this.destroyed) throw Object.assign(new Error('The session has been destroyed'), { code: 'ERR_HTTP2_INVALID_SESSION' });
    if (this.throwOnPing) throw new Error('boom');
    this.pings++;
    this.pending = cb;
    return true;
  }
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ztunnel/hbone/keepalive: PINGs that stop with their session', () => {
  const start = (s: FakeSession, failures: KeepaliveFailure[]): SessionKeepalive =>
    new SessionKeepalive(s as unknown as Http2Session, (f) => failures.push(f), { intervalMs: 10, timeoutMs: 30 });

  it('pings after the interval and again one interval after each PONG', async () => {
    const s = new FakeSession();
    const failures: KeepaliveFailure[] = [];
    const k = start(s, failures);
    await tick(25);
    assert.equal(s.pings, 1);
    s.pending?.(null);
    await tick(25);
    assert.equal(s.pings, 2);
    k.stop();
    assert.deepEqual(failures, []);
  });

  it('declares the peer dead once when a PING is not answered in time, and stops', async () => {
    const s = new FakeSession();
    const failures: KeepaliveFailure[] = [];
    start(s, failures);
    await tick(80);
    assert.deepEqual(failures, ['ping_timeout']);
    assert.equal(s.pings, 1);
  });

  it('never pings a session destroyed under it, and nothing escapes its timers', async () => {
    const s = new FakeSession();
    const failures: KeepaliveFailure[] = [];
    start(s, failures);
    s.destroyed = true;
    await tick(40);
    assert.equal(s.pings, 0);
    assert.deepEqual(failures, []);
  });

  it('turns a ping() that throws into one failure instead of an uncaught exception', async () => {
    const s = new FakeSession();
    s.throwOnPing = true;
    const failures: KeepaliveFailure[] = [];
    start(s, failures);
    await tick(40);
    assert.deepEqual(failures, ['ping_failed']);
  });

  it('stops with the session: no timer survives its close', async () => {
    const s = new FakeSession();
    const failures: KeepaliveFailure[] = [];
    start(s, failures);
    s.closed = true;
    s.emit('close');
    await tick(60);
    assert.equal(s.pings, 0);
    assert.deepEqual(failures, []);
  });
});
