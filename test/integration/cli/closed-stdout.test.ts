import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../../support/cli.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

describe('ambit with a reader that went away (`ambit ... | head`)', function () {
  this.timeout(20_000);

  it('stops quietly with its exit code instead of dying on EPIPE', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'validate', '-f', 'test/fixtures/validate/valid', '-o', 'json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    // The read end closes before the command writes anything.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, null);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error'/);
    assert.equal(code, 0, stderr);
  });
});
