import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadConfigFiles,
  parseConfigText,
  type ParsedDocument,
} from '../../../../src/istiod/config/parse.js';

function documents(docs: readonly ParsedDocument[]): { index: number; raw: unknown }[] {
  return docs.flatMap((d) => (d.kind === 'document' ? [{ index: d.index, raw: d.raw }] : []));
}

describe('parseConfigText', () => {
  it('splits multi-document YAML and keeps each document position', () => {
    const docs = parseConfigText('a: 1\n---\nb: 2\n---\nc: 3\n', 'x.yaml');
    assert.deepEqual(documents(docs), [
      { index: 0, raw: { a: 1 } },
      { index: 1, raw: { b: 2 } },
      { index: 2, raw: { c: 3 } },
    ]);
  });

  it('skips empty and comment-only documents without renumbering the others', () => {
    const docs = parseConfigText('a: 1\n---\n# only a comment\n---\n---\nb: 2\n', 'x.yml');
    assert.deepEqual(documents(docs), [
      { index: 0, raw: { a: 1 } },
      { index: 3, raw: { b: 2 } },
    ]);
  });

  it('returns nothing for an empty file', () => {
    assert.deepEqual(parseConfigText('', 'x.yaml'), []);
    assert.deepEqual(parseConfigText('# nothing\n', 'x.yaml'), []);
  });

  it('reports a broken document and still returns the good ones around it', () => {
    const docs = parseConfigText('a: 1\n---\nb: [1, 2\n---\nc: 3\n', 'x.yaml');
    assert.deepEqual(documents(docs), [
      { index: 0, raw: { a: 1 } },
      { index: 2, raw: { c: 3 } },
    ]);
    const err = docs.find((d) => d.kind === 'parse-error');
    assert.ok(err !== undefined && err.kind === 'parse-error');
    assert.equal(err.index, 1);
    assert.match(err.message, /invalid YAML/);
    assert.equal(typeof err.line, 'number');
  });

  it('expands anchors and merge keys', () => {
    const docs = parseConfigText('base: &b {app: a, tier: web}\nmerged:\n  <<: *b\n  tier: db\n', 'x.yaml');
    assert.deepEqual(documents(docs), [
      { index: 0, raw: { base: { app: 'a', tier: 'web' }, merged: { app: 'a', tier: 'db' } } },
    ]);
  });

  it('refuses a document whose aliases expand without bound', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) {
      const prev = String.fromCharCode(97 + i);
      const cur = String.fromCharCode(98 + i);
      lines.push(
        `${cur}: &${cur} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
      );
    }
    const docs = parseConfigText(`${lines.join('\n')}\n`, 'bomb.yaml');
    assert.equal(docs.length, 1);
    assert.equal(docs[0]?.kind, 'parse-error');
  });

  it('rejects duplicate keys as Kubernetes strict decoding does', () => {
    const docs = parseConfigText('a: 1\na: 2\n', 'x.yaml');
    assert.equal(docs[0]?.kind, 'parse-error');
  });

  it('reads a JSON object as one document', () => {
    assert.deepEqual(documents(parseConfigText('{"kind": "Namespace"}', 'x.json')), [
      { index: 0, raw: { kind: 'Namespace' } },
    ]);
  });

  it('reads the items of a JSON List as documents', () => {
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'A' }, { kind: 'B' }] });
    assert.deepEqual(documents(parseConfigText(text, 'x.json')), [
      { index: 0, raw: { kind: 'A' } },
      { index: 1, raw: { kind: 'B' } },
    ]);
  });

  it('reads an object with only items as a list', () => {
    assert.deepEqual(documents(parseConfigText('{"items": [{"kind": "A"}]}', 'x.json')), [
      { index: 0, raw: { kind: 'A' } },
    ]);
  });

  it('reads a top-level JSON array of objects', () => {
    assert.deepEqual(documents(parseConfigText('[{"kind": "A"}, {"kind": "B"}]', 'X.JSON')), [
      { index: 0, raw: { kind: 'A' } },
      { index: 1, raw: { kind: 'B' } },
    ]);
  });

  it('keeps an object whose kind is not a list but has items', () => {
    const docs = documents(parseConfigText('{"kind": "Thing", "items": [1]}', 'x.json'));
    assert.deepEqual(docs, [{ index: 0, raw: { kind: 'Thing', items: [1] } }]);
  });

  it('reports broken JSON with its line', () => {
    const docs = parseConfigText('{\n  "a": 1,\n  "b": \n}\n', 'x.json');
    assert.equal(docs.length, 1);
    const d = docs[0];
    assert.ok(d !== undefined && d.kind === 'parse-error');
    assert.match(d.message, /invalid JSON/);
    assert.equal(d.index, 0);
  });
});

describe('loadConfigFiles', () => {
  let dir = '';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ambit-parse-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('expands directories recursively to yaml, yml and json files in sorted order', async () => {
    await mkdir(join(dir, 'b'));
    await mkdir(join(dir, '.hidden'));
    await writeFile(join(dir, 'z.yaml'), 'z: 1\n');
    await writeFile(join(dir, 'a.json'), '{"a": 1}');
    await writeFile(join(dir, 'b', 'c.yml'), 'c: 1\n');
    await writeFile(join(dir, 'notes.txt'), 'x');
    await writeFile(join(dir, '.hidden', 'h.yaml'), 'h: 1\n');
    const files = await loadConfigFiles([dir]);
    assert.deepEqual(
      files.map((f) => f.file),
      [join(dir, 'a.json'), join(dir, 'b', 'c.yml'), join(dir, 'z.yaml')],
    );
    assert.ok(files.every((f) => f.kind === 'parsed'));
  });

  it('reads a file named explicitly whatever its extension', async () => {
    const f = join(dir, 'config.txt');
    await writeFile(f, 'a: 1\n');
    const files = await loadConfigFiles([f]);
    assert.equal(files[0]?.kind, 'parsed');
    if (files[0]?.kind === 'parsed')
      assert.deepEqual(documents(files[0].documents), [{ index: 0, raw: { a: 1 } }]);
  });

  it('reports a missing path as unreadable and keeps going', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'a: 1\n');
    const files = await loadConfigFiles([join(dir, 'missing.yaml'), good]);
    assert.equal(files.length, 2);
    assert.equal(files[0]?.kind, 'unreadable');
    if (files[0]?.kind === 'unreadable') assert.equal(files[0].error.code, 'CONFIG_READ_FAILED');
    assert.equal(files[1]?.kind, 'parsed');
  });

  it('follows a directory symlink loop only once', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'a.yaml'), 'a: 1\n');
    await symlink(dir, join(dir, 'sub', 'loop'));
    const files = await loadConfigFiles([dir]);
    assert.deepEqual(
      files.map((f) => f.file),
      [join(dir, 'sub', 'a.yaml')],
    );
  });
});
