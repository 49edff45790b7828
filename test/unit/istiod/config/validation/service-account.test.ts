import assert from 'node:assert/strict';
import { runCases, type ValidationCase } from './table.js';

const serviceAccountCases: ValidationCase[] = [
  {
    name: 'a service account',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: bookinfo-reviews}\nautomountServiceAccountToken: false\n',
    want: 'valid',
    check: (o) => assert.equal(o.metadata.namespace, 'default'),
  },
  {
    name: 'a service account with a spec',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nspec: {}\n',
    want: ['spec'],
  },
  {
    name: 'a service account with apiVersion v2',
    yaml: 'apiVersion: v2\nkind: ServiceAccount\nmetadata: {name: a}\n',
    want: ['apiVersion'],
  },
];

describe('validation: ServiceAccount', () => {
  runCases(serviceAccountCases);
});
