import assert from 'node:assert/strict';
import { runCases, type ValidationCase } from './table.js';

const namespaceCases: ValidationCase[] = [
  {
    name: 'a namespace with the ambient label',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio.io/dataplane-mode: ambient}\n',
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'Namespace');
      assert.equal(o.metadata.namespace, '');
      assert.deepEqual(o.metadata.labels, { 'istio.io/dataplane-mode': 'ambient' });
    },
  },
  {
    name: 'a namespace name with a dot',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: book.info}\n',
    want: ['metadata.name'],
  },
  {
    name: 'a namespace with a namespace',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n',
    want: ['metadata.namespace'],
  },
  {
    name: 'a namespace with an unknown spec field',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nspec: {mode: ambient}\n',
    want: ['spec.mode'],
  },
];

describe('validation: Namespace', () => {
  runCases(namespaceCases);
});
