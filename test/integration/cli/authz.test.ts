import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliRunner, type CliResult } from '../../support/cli.js';

const FIXTURES = join('test', 'fixtures', 'authz');
const DEMO = join(FIXTURES, 'demo.yaml');
const EXTRA = join(FIXTURES, 'extra.yaml');
const RUN_TIMEOUT_MS = 15_000;

/** The backend in demo, reached on 8080 from 10.0.0.5; override any flag by appending it. */
const TO_BACKEND = ['--source-ip', '10.0.0.5', '--dest-namespace', 'demo', '--dest-labels', 'app=backend', '--dest-ip', '10.0.0.9', '--port', '8080'];
const FRONTEND = 'cluster.local/ns/web/sa/frontend';

describe('ambit x authz check (CLI)', function () {
  this.timeout(RUN_TIMEOUT_MS * 2);
  const cli = new CliRunner();
  let tmp: string | undefined;

  afterEach(async () => {
    cli.killAll();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  function check(...args: string[]): Promise<CliResult> {
    return cli.run(['x', 'authz', 'check', ...args], { timeoutMs: RUN_TIMEOUT_MS });
  }

  describe('decisions (exit 0 for both)', () => {
    const table: { name: string; args: string[]; text: string; json: unknown }[] = [
      {
        name: 'a DENY policy matching the peer and port',
        args: ['-f', DEMO, '--source-principal', `spiffe://${FRONTEND}`, ...TO_BACKEND, '--port', '9000'],
        text: 'DENY by demo/deny-frontend rule 0',
        json: { decision: 'DENY', policy: 'demo/deny-frontend', rule: 0 },
      },
      {
        name: 'an ALLOW policy matching the peer namespace (principal without spiffe://)',
        args: ['-f', DEMO, '--source-principal', FRONTEND, ...TO_BACKEND],
        text: 'ALLOW by demo/allow-web rule 0',
        json: { decision: 'ALLOW', policy: 'demo/allow-web', rule: 0 },
      },
      {
        name: 'the second rule of an ALLOW policy (source IP block)',
        args: ['-f', DEMO, '--source-principal', 'cluster.local/ns/shop/sa/cart', ...TO_BACKEND, '--source-ip', '10.10.3.4'],
        text: 'ALLOW by demo/allow-web rule 1',
        json: { decision: 'ALLOW', policy: 'demo/allow-web', rule: 1 },
      },
      {
        name: 'ALLOW policies apply and none matches',
        args: ['-f', DEMO, '--source-principal', 'cluster.local/ns/shop/sa/cart', ...TO_BACKEND],
        text: 'DENY (no ALLOW policy matched)',
        json: { decision: 'DENY', policy: null, rule: null },
      },
      {
        name: 'plaintext under mesh-wide STRICT',
        args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--source-ip', '10.10.3.4'],
        text: 'DENY by istio-system/istio_converted_static_strict rule 0',
        json: { decision: 'DENY', policy: 'istio-system/istio_converted_static_strict', rule: 0 },
      },
      {
        name: 'a workload no ALLOW policy selects',
        args: ['-f', DEMO, '--source-principal', FRONTEND, ...TO_BACKEND, '--dest-labels', 'app=other'],
        text: 'ALLOW (no ALLOW policy applies)',
        json: { decision: 'ALLOW', policy: null, rule: null },
      },
      {
        name: 'a root namespace other than istio-system makes the mesh PeerAuthentication a plain namespace one',
        args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--dest-labels', 'app=other', '--root-namespace', 'mesh-root'],
        text: 'ALLOW (no ALLOW policy applies)',
        json: { decision: 'ALLOW', policy: null, rule: null },
      },
      {
        name: 'IPv6 addresses',
        args: ['-f', DEMO, '--source-principal', 'cluster.local/ns/shop/sa/cart', ...TO_BACKEND, '--source-ip', 'fd00::5', '--dest-ip', 'fd00::9'],
        text: 'DENY (no ALLOW policy matched)',
        json: { decision: 'DENY', policy: null, rule: null },
      },
    ];
    for (const c of table) {
      it(`${c.name}: ${c.text}`, async () => {
        const text = await check(...c.args);
        assert.equal(text.code, 0, text.stderr);
        assert.equal(text.stdout, `${c.text}\n`);
        const json = await check(...c.args, '-o', 'json');
        assert.equal(json.code, 0, json.stderr);
        assert.deepEqual(JSON.parse(json.stdout), c.json);
      });
    }
  });

  it('reads several files, notes policies narrowed by the conversion on stderr, and ignores other kinds', async () => {
    const r = await check('-f', DEMO, '-f', EXTRA, '--source-principal', 'cluster.local/ns/shop/sa/cart', ...TO_BACKEND, '--dest-labels', 'app=backend');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'DENY (no ALLOW policy matched)\n');
    assert.match(r.stderr, /^note: demo\/allow-get: ztunnel does not support HTTP attributes \(found: methods\)/m);
  });

  it('reports matching dry-run policies with --dry-run-policies, without enforcing them', async () => {
    const args = ['-f', DEMO, '-f', EXTRA, '--source-principal', 'cluster.local/ns/shop/sa/cart', ...TO_BACKEND, '--source-ip', '10.10.0.1', '--dry-run-policies'];
    const json = await check(...args, '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      decision: 'ALLOW',
      policy: 'demo/allow-web',
      rule: 1,
      dryRun: [{ policy: 'demo/audit-shop', action: 'deny', rule: 0 }],
    });
    const text = await check(...args);
    assert.equal(text.stdout, 'ALLOW by demo/allow-web rule 1\ndry-run: demo/audit-shop would deny (rule 0)\n');
  });

  it('exits 1 naming the file, object and field path of every problem in an invalid file', async () => {
    const r = await check('-f', join(FIXTURES, 'invalid', 'bad-port.yaml'), '--plaintext', ...TO_BACKEND);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /bad-port\.yaml\[0\] AuthorizationPolicy\/demo\/bad: spec\.action: /);
    assert.match(r.stderr, /bad-port\.yaml\[0\] AuthorizationPolicy\/demo\/bad: spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]: /);
  });

  it('exits 1 with the line of a document that does not parse', async () => {
    const r = await check('-f', join(FIXTURES, 'invalid', 'not-yaml.yaml'), '--plaintext', ...TO_BACKEND);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not-yaml\.yaml\[0\]: invalid YAML: .*\(line \d+\)/);
  });

  it('exits 1 for a file that cannot be read', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ambit-authz-'));
    const r = await check('-f', join(tmp, 'missing.yaml'), '--plaintext', ...TO_BACKEND);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.yaml: /);
  });

  it('accepts JSON files', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ambit-authz-'));
    const file = join(tmp, 'deny.json');
    await writeFile(file, JSON.stringify({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'deny-all', namespace: 'demo' },
      spec: { action: 'DENY', rules: [{}] },
    }));
    const r = await check('-f', file, '--source-principal', FRONTEND, ...TO_BACKEND, '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { decision: 'DENY', policy: 'demo/deny-all', rule: 0 });
  });

  describe('usage errors exit 2', () => {
    const usage: { name: string; args: string[]; message: RegExp }[] = [
      { name: 'neither --source-principal nor --plaintext', args: ['-f', DEMO, ...TO_BACKEND], message: /one of --source-principal or --plaintext/ },
      { name: 'both --source-principal and --plaintext', args: ['-f', DEMO, '--plaintext', '--source-principal', FRONTEND, ...TO_BACKEND], message: /cannot be used with/ },
      { name: 'a principal that is not an Istio identity', args: ['-f', DEMO, '--source-principal', 'frontend', ...TO_BACKEND], message: /--source-principal: "frontend"/ },
      { name: 'a source IP that is not one', args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--source-ip', '10.0.0'], message: /--source-ip: "10\.0\.0"/ },
      { name: 'a destination IP that is not one', args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--dest-ip', 'backend'], message: /--dest-ip: "backend"/ },
      { name: 'a port out of range', args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--port', '70000'], message: /--port: "70000"/ },
      { name: 'a port that is not a number', args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--port', 'http'], message: /--port: "http"/ },
      { name: 'labels without "="', args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '--dest-labels', 'app'], message: /--dest-labels: "app"/ },
      { name: 'no policy file', args: ['--plaintext', ...TO_BACKEND], message: /--filename/ },
      { name: 'an unknown output format', args: ['-f', DEMO, '--plaintext', ...TO_BACKEND, '-o', 'yaml'], message: /yaml/ },
    ];
    for (const c of usage) {
      it(c.name, async () => {
        const r = await check(...c.args);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, c.message);
      });
    }
  });

  it('documents every flag in --help and exits 0', async () => {
    const r = await check('--help');
    assert.equal(r.code, 0);
    for (const flag of ['--filename', '--source-principal', '--plaintext', '--source-ip', '--dest-namespace', '--dest-labels', '--dest-ip', '--port', '--root-namespace', '--dry-run-policies', '--output']) {
      assert.ok(r.stdout.includes(flag), `--help mentions ${flag}`);
    }
    assert.match(r.stdout, /Exit codes/);
  });
});
