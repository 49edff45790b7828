import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { validateDocument } from '../../../../../src/istiod/config/validation/index.js';

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPLACEMENTS: unknown[] = [
  null,
  0,
  -1,
  65536,
  1.5,
  '',
  '*',
  'x y',
  true,
  [],
  {},
  [null],
  { a: 1 },
  '10.0.0.0/33',
];

/** Every path to a value inside `v` (object keys and array indices). */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function replaceAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  cur[path[path.length - 1] as string | number] = value;
  return copy;
}

function fixtureDocuments(): unknown[] {
  const dir = fileURLToPath(new URL('../../../../fixtures/validate/', import.meta.url));
  const out: unknown[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ya?ml)$/.test(e.name)) {
        for (const doc of parseAllDocuments(readFileSync(p, 'utf8')))
          if (doc.errors.length === 0) out.push(doc.toJS());
      } else if (e.name.endsWith('.json')) {
        out.push(...((JSON.parse(readFileSync(p, 'utf8')) as { items: unknown[] }).items ?? []));
      }
    }
  };
  walk(dir);
  return out.filter((d) => d !== null);
}

describe('validation: robustness', () => {
  it('never throws and always locates its errors when any field of a real document is replaced by junk', () => {
    const next = rng(20240601);
    const docs = fixtureDocuments();
    assert.ok(docs.length >= 5, 'fixture documents are missing');
    let mutations = 0;
    for (const doc of docs) {
      const all = paths(doc);
      for (let i = 0; i < 60; i++) {
        const path = all[Math.floor(next() * all.length)] ?? [];
        const value = REPLACEMENTS[Math.floor(next() * REPLACEMENTS.length)];
        const mutated = replaceAt(doc, path, value);
        const r = validateDocument(mutated, { source: 'test' });
        if (r.kind === 'invalid') {
          assert.ok(r.errors.length > 0, `no errors for ${JSON.stringify(path)}`);
          for (const e of r.errors) {
            assert.ok(e.path.length > 0 && e.message.length > 0, JSON.stringify(e));
          }
        }
        mutations++;
      }
    }
    assert.ok(mutations >= 300);
  });
});
