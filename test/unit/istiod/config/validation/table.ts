/**
 * Table support for the validation suites: each case is a YAML document
 * (usually built from a spec fragment) and either `valid` (optionally with a
 * check on the typed object) or the exact list of field paths reported.
 */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { AnyConfigObject } from '../../../../../src/istiod/config/types.js';
import {
  validateDocument,
  type ValidationResult,
} from '../../../../../src/istiod/config/validation/index.js';

export interface ValidationCase {
  /** What the case shows, as a sentence. */
  readonly name: string;
  readonly yaml: string;
  /** `valid`, or the field paths of every error, in order. */
  readonly want: 'valid' | readonly string[];
  /** Extra assertions on the typed object of a valid case. */
  readonly check?: (object: AnyConfigObject) => void;
  /** A regex the first error message must match. */
  readonly message?: RegExp;
}

/** Indents a YAML fragment to sit under `spec:`. */
function indent(fragment: string, by: string): string {
  return fragment
    .replace(/^\n+|\s+$/g, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : by + l))
    .join('\n');
}

/** A full document of `kind` named `name` in namespace `ns` with the given spec fragment. */
export function doc(
  apiVersion: string,
  kind: string,
  spec: string,
  meta = 'name: test\n  namespace: demo',
): string {
  const body = spec.trim() === '' ? '' : `\nspec:\n${indent(spec, '  ')}`;
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  ${meta}${body}\n`;
}

export function validate(yaml: string): ValidationResult {
  return validateDocument(parse(yaml) as unknown, { source: 'test' });
}

function describeErrors(r: ValidationResult): string {
  return r.kind === 'valid' ? 'valid' : JSON.stringify(r.errors, null, 1);
}

/** Runs every case as its own test. */
export function runCases(cases: readonly ValidationCase[]): void {
  for (const c of cases) {
    const title = c.want === 'valid' ? `${c.name}: accepted` : `${c.name}: rejected at ${c.want.join(', ')}`;
    it(title, () => {
      const r = validate(c.yaml);
      if (c.want === 'valid') {
        assert.equal(r.kind, 'valid', describeErrors(r));
        if (r.kind === 'valid') c.check?.(r.object);
        return;
      }
      assert.equal(r.kind, 'invalid', 'expected the document to be rejected');
      if (r.kind !== 'invalid') return;
      assert.deepEqual(
        r.errors.map((e) => e.path),
        [...c.want],
        describeErrors(r),
      );
      if (c.message !== undefined) assert.match(r.errors[0]?.message ?? '', c.message);
    });
  }
}
