import assert from 'node:assert/strict';
import { withDeadline } from '../../../src/shared/deadline.js';

const timeoutError = (): Error => new Error('too late');

describe('shared/deadline: one deadline that owns late values', () => {
  it('resolves with the value when the operation is in time', async () => {
    assert.equal(await withDeadline({ timeoutMs: 1000, timeoutError }, async () => 7), 7);
  });

  it('rejects at the deadline, aborts the signal, and disposes a value that arrives later', async () => {
    let release!: (v: string) => void;
    let signal!: AbortSignal;
    const disposed: string[] = [];
    const run = withDeadline({ timeoutMs: 20, timeoutError, dispose: (v: string) => disposed.push(v) }, (s) => {
      signal = s;
      return new Promise<string>((r) => (release = r));
    });
    await assert.rejects(run, /too late/);
    assert.equal(signal.aborted, true);
    release('late socket');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(disposed, ['late socket']);
  });

  it('gives up when the parent signal aborts, with its reason', async () => {
    const parent = new AbortController();
    const run = withDeadline({ timeoutMs: 10_000, timeoutError, parent: parent.signal }, () => new Promise<never>(() => undefined));
    parent.abort(new Error('client went away'));
    await assert.rejects(run, /client went away/);
  });

  it('turns a synchronous throw of the operation into a rejection', async () => {
    await assert.rejects(
      withDeadline({ timeoutMs: 1000, timeoutError }, () => {
        throw new Error('boom');
      }),
      /boom/,
    );
  });
});
