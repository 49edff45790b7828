/**
 * The process guard itself: a watched process that exits fails the test
 * that was running, an announced exit does not, a reused PID or a zombie
 * counts as exited, and the root hooks wrap tests so the failure is the
 * test's own.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ProcessGuard, ProcessGuardError, processGuard } from '../support/process-guard.js';

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  assert.ok(child.pid !== undefined);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

describe('process guard: unexpected exits of watched processes fail the test', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('reports a watched process that was killed without expectExit, with its label', async () => {
    const guard = new ProcessGuard();
    const child = sleeper();
    children.push(child);
    guard.watch(child.pid!, 'sleeper A');
    assert.deepEqual(guard.takeUnexpected(), []);
    child.kill('SIGKILL');
    await exited(child);
    const exits = guard.takeUnexpected();
    assert.deepEqual(exits.map((e) => [e.pid, e.label]), [[child.pid, 'sleeper A']]);
    assert.throws(() => {
      guard.watch(child.pid!, 'sleeper A again');
      guard.check();
    }, ProcessGuardError);
  });

  it('does not report a process whose exit was announced, nor a released one', async () => {
    const guard = new ProcessGuard();
    const a = sleeper();
    const b = sleeper();
    children.push(a, b);
    guard.watch(a.pid!, 'a');
    guard.watch(b.pid!, 'b');
    guard.expectExit(a.pid!);
    guard.release(b.pid!);
    a.kill('SIGKILL');
    b.kill('SIGTERM');
    await Promise.all([exited(a), exited(b)]);
    guard.check();
    assert.equal(guard.isWatched(a.pid!), false);
  });

  it('keeps a stopped (SIGSTOP) process as alive', async () => {
    const guard = new ProcessGuard();
    const child = sleeper();
    children.push(child);
    guard.watch(child.pid!, 'stopped');
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3 * 100));
    guard.check();
    child.kill('SIGCONT');
    guard.release(child.pid!);
  });

  it('is installed as a root hook: the shared guard fails the running test itself', async function () {
    const child = sleeper();
    children.push(child);
    processGuard.watch(child.pid!, 'root-hook sleeper');
    child.kill('SIGKILL');
    await exited(child);
    // The test function is wrapped by the root beforeEach hook; calling it
    // here would recurse, so check the wrapper's effect on a probe test.
    const fn = this.test?.fn as (((this: Mocha.Context) => Promise<void>) & Record<symbol, unknown>) | undefined;
    assert.ok(fn !== undefined && Object.getOwnPropertySymbols(fn).length === 1, 'the root hook wrapped this test');
    // Take the exit so this test passes: the wrapper would otherwise fail it.
    const exits = processGuard.takeUnexpected();
    assert.deepEqual(exits.map((e) => e.label), ['root-hook sleeper']);
  });
});
