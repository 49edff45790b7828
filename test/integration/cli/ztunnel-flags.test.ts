/** `ambit ztunnel` refuses a bad requested certificate lifetime before starting anything. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_USAGE } from '../../../src/cli/exit-codes.js';
import { CliRunner } from '../../support/cli.js';
import { createTestPki } from '../../support/ca.js';

describe('ambit ztunnel --secret-ttl', function () {
  this.timeout(30_000);
  const cli = new CliRunner();
  let dir: string;
  let rootCert: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'a9p-ztunnel-flags-'));
    rootCert = join(dir, 'root.pem');
    writeFileSync(rootCert, createTestPki().rootPem);
  });
  afterEach(() => cli.killAll());
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = (): string[] => ['ztunnel', '--node-name', 'node-1', '--root-cert', rootCert];
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
    if (!('SECRET_TTL' in extra)) delete e.SECRET_TTL;
    return e;
  };

  it('a value that is not a duration: usage exit naming --secret-ttl', async () => {
    const run = await cli.run([...base(), '--secret-ttl', '5x'], { env: env({}) });
    assert.equal(run.code, EXIT_USAGE);
    assert.equal(run.stderr, 'ambit ztunnel: --secret-ttl "5x": not a duration (e.g. 60s, 30m, 24h, 1h30m)\n');
  });

  it('SECRET_TTL is the fallback, and a bad one is named', async () => {
    const run = await cli.run(base(), { env: env({ SECRET_TTL: '0s' }) });
    assert.equal(run.code, EXIT_USAGE);
    assert.equal(run.stderr, 'ambit ztunnel: SECRET_TTL "0s": must be longer than zero\n');
  });

  it('the flag wins over SECRET_TTL', async () => {
    const run = await cli.run([...base(), '--secret-ttl', 'nope'], { env: env({ SECRET_TTL: '60s' }) });
    assert.equal(run.code, EXIT_USAGE);
    assert.match(run.stderr, /--secret-ttl "nope"/);
  });

  it('is listed in --help with its default and the environment variable', async () => {
    const run = await cli.run(['ztunnel', '--help'], { env: env({}) });
    assert.equal(run.code, 0);
    assert.match(run.stdout.replace(/\s+/g, ' '), /--secret-ttl <duration> workload certificate lifetime asked of the CA, e\.g\. 60s, 30m, 24h \(default: \$SECRET_TTL, else 24h\)/);
  });
});
