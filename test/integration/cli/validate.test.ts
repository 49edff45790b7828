import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CliRunner, type CliResult } from '../../support/cli.js';

const FIXTURES = join('test', 'fixtures', 'validate');
const RUN_TIMEOUT_MS = 15_000;

interface Entry {
  file: string;
  index: number | null;
  kind: string | null;
  name: string | null;
  namespace: string | null;
  valid: boolean;
  errors: { path: string; message: string }[];
}

describe('ambit validate (CLI)', function () {
  this.timeout(RUN_TIMEOUT_MS * 2);
  const cli = new CliRunner();

  afterEach(() => {
    cli.killAll();
  });

  function ambit(...args: string[]): Promise<CliResult> {
    return ambitWithInput(undefined, ...args);
  }

  function ambitWithInput(input: string | undefined, ...args: string[]): Promise<CliResult> {
    return cli.run(args, { input, timeoutMs: RUN_TIMEOUT_MS });
  }

  it('exits 0 and prints a summary when every object in a directory is valid', async () => {
    const r = await ambit('validate', '-f', join(FIXTURES, 'valid'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^5 objects checked: 5 valid, 0 invalid\n$/);
  });

  it('prints one JSON entry per object with file, index, kind, name, namespace, valid and errors', async () => {
    const r = await ambit('validate', '-f', join(FIXTURES, 'valid'), '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.deepEqual(
      entries.map((e) => [e.file, e.index, e.kind, e.namespace, e.name, e.valid]),
      [
        [join(FIXTURES, 'valid', 'namespace.yaml'), 0, 'Namespace', '', 'bookinfo', true],
        [join(FIXTURES, 'valid', 'namespace.yaml'), 1, 'PeerAuthentication', 'bookinfo', 'default', true],
        [
          join(FIXTURES, 'valid', 'nested', 'policies.yml'),
          0,
          'AuthorizationPolicy',
          'bookinfo',
          'reviews-viewer',
          true,
        ],
        [join(FIXTURES, 'valid', 'nested', 'services.json'), 0, 'Service', 'bookinfo', 'reviews', true],
        [
          join(FIXTURES, 'valid', 'nested', 'services.json'),
          1,
          'VirtualService',
          'bookinfo',
          'reviews',
          true,
        ],
      ],
    );
    for (const e of entries)
      assert.deepEqual(Object.keys(e).sort(), [
        'errors',
        'file',
        'index',
        'kind',
        'name',
        'namespace',
        'valid',
      ]);
  });

  it('exits 1 and lists each invalid object with its field path', async () => {
    const file = join(FIXTURES, 'invalid', 'mixed.yaml');
    const r = await ambit('validate', '-f', file);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines, [
      `${file}[1] AuthorizationPolicy/bookinfo/bad-principal: spec.rules[0].from[0].source.principal: unknown field "principal"`,
      `${file}[2] VirtualService/bookinfo/zero-weights: spec.http[0].route: total destination weight = 0; at least one destination needs a positive weight`,
      '3 objects checked: 1 valid, 2 invalid (2 problems)',
    ]);
  });

  it('reports a broken document as (document) and still validates its neighbours', async () => {
    const file = join(FIXTURES, 'invalid', 'broken.yaml');
    const r = await ambit('validate', '-f', file, '-o', 'json');
    assert.equal(r.code, 1, r.stderr);
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.deepEqual(
      entries.map((e) => [e.index, e.valid, e.name]),
      [
        [0, true, 'good-one'],
        [1, false, null],
        [2, true, 'after-the-broken-one'],
      ],
    );
    assert.equal(entries[1]?.errors[0]?.path, '(document)');
    assert.equal(entries[1]?.kind, null);
  });

  it('accepts several -f options and reports an unreadable path with exit 1', async () => {
    const missing = join(FIXTURES, 'does-not-exist.yaml');
    const r = await ambit(
      'validate',
      '-f',
      join(FIXTURES, 'valid', 'namespace.yaml'),
      '-f',
      missing,
      '-o',
      'json',
    );
    assert.equal(r.code, 1, r.stderr);
    const entries = JSON.parse(r.stdout) as Entry[];
    assert.equal(entries.length, 3);
    assert.deepEqual(
      entries.map((e) => e.valid),
      [true, true, false],
    );
    assert.equal(entries[2]?.file, missing);
    assert.equal(entries[2]?.index, null);
    assert.match(entries[2]?.errors[0]?.message ?? '', /ENOENT/);
  });

  it('reads documents from standard input with -f -', async () => {
    const yaml =
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: Not_OK}\n';
    const r = await ambitWithInput(yaml, 'validate', '-f', '-');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stdout.split('\n')[0],
      '-[1] Namespace//Not_OK: metadata.name: "Not_OK" is not a valid DNS-1123 label: lower case alphanumeric characters or \'-\', starting and ending with an alphanumeric character',
    );
  });

  it('exits 2 without -f', async () => {
    const r = await ambit('validate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--filename/);
    assert.equal(r.stdout, '');
  });

  it('exits 2 on an unknown output format', async () => {
    const r = await ambit('validate', '-f', join(FIXTURES, 'valid'), '-o', 'yaml');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /yaml/);
  });

  it('prints usage with --help and exits 0', async () => {
    const r = await ambit('validate', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: ambit validate/);
    assert.match(r.stdout, /-o, --output/);
  });
});
