import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './render.js';

const SCRIPT = join(REPO_ROOT, 'test/kind/e2e.sh');
/** The only programs the script may find: no real docker, kind or kubectl is ever reachable from these tests. */
const SYSTEM_TOOLS = ['dirname', 'sed', 'grep', 'cat'];

describe('test/kind/e2e.sh (without a cluster)', function () {
  this.timeout(20_000);
  let bin = '';

  beforeEach(() => {
    bin = mkdtempSync(join(tmpdir(), 'ambit-e2e-path-'));
    for (const tool of SYSTEM_TOOLS) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      assert.ok(found !== '', `${tool} is on this machine`);
      symlinkSync(found, join(bin, tool));
    }
  });

  afterEach(() => {
    if (bin !== '') rmSync(bin, { recursive: true, force: true });
    bin = '';
  });

  /** A stand-in tool that records its call in calls.log and exits with the status given. */
  const stub = (name: string, status: number): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${join(bin, 'calls.log')}'\nexit ${status}\n`);
    chmodSync(join(bin, name), 0o755);
  };

  const run = (...args: string[]) =>
    spawnSync('/bin/bash', [SCRIPT, ...args], { encoding: 'utf8', env: { PATH: bin, HOME: bin }, timeout: 10_000 });

  it('parses as bash', () => {
    const r = spawnSync('bash', ['-n', SCRIPT], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  const missing: { have: string[]; absent: string }[] = [
    { have: [], absent: 'docker' },
    { have: ['docker'], absent: 'kind' },
    { have: ['docker', 'kind'], absent: 'kubectl' },
  ];
  for (const row of missing) {
    it(`refuses to run with exit status 2 when ${row.absent} is missing`, () => {
      for (const t of row.have) stub(t, 0);
      const r = run();
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`e2e: ${row.absent} is not installed`));
      assert.ok(!existsSync(join(bin, 'calls.log')), 'no tool ran');
    });
  }

  it('refuses to run with exit status 2 when the Docker daemon does not answer', () => {
    stub('docker', 1);
    stub('kind', 0);
    stub('kubectl', 0);
    const r = run('--keep');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /daemon is not reachable/);
    assert.deepEqual(readFileSync(join(bin, 'calls.log'), 'utf8'), 'docker info\n', 'nothing but docker info ran');
  });

  it('rejects an unknown argument and a --name without a value with exit status 2', () => {
    const unknown = run('--bogus');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown argument --bogus/);
    const name = run('--name');
    assert.equal(name.status, 2);
    assert.match(name.stderr, /--name needs a value/);
  });

  it('prints its header as usage for --help and exits 0', () => {
    const r = run('--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /test\/kind\/e2e\.sh \[--keep\] \[--no-build\] \[--name CLUSTER\]/);
    assert.doesNotMatch(r.stdout, /set -euo pipefail/);
  });
});
