import assert from 'node:assert/strict';
import {
  validateDocument,
  supportedKinds,
  validatedKinds,
  DOCUMENT_PATH,
} from '../../../../../src/istiod/config/validation/index.js';
import { CONFIG_KINDS } from '../../../../../src/istiod/config/types.js';
import { runCases, type ValidationCase } from './table.js';

const cases: ValidationCase[] = [
  { name: 'a document without a kind', yaml: 'apiVersion: v1\nmetadata: {name: a}\n', want: ['kind'] },
  {
    name: 'an unsupported kind',
    yaml: 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\n',
    want: ['kind'],
    message: /unsupported kind "StatefulSet"/,
  },
  {
    name: 'a known kind without an apiVersion',
    yaml: 'kind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n',
    want: ['apiVersion'],
  },
  {
    name: 'an Istio kind under the wrong group',
    yaml: 'apiVersion: security.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\n',
    want: ['apiVersion'],
  },
  { name: 'no metadata', yaml: 'apiVersion: v1\nkind: ServiceAccount\n', want: ['metadata'] },
  {
    name: 'metadata without a name',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: a}\n',
    want: ['metadata.name'],
  },
  {
    name: 'a name longer than 253 characters',
    yaml: `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${'a'.repeat(254)}}\n`,
    want: ['metadata.name'],
  },
  {
    name: 'a name with an underscore',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: my_sa}\n',
    want: ['metadata.name'],
  },
  {
    name: 'a dotted name where a subdomain is allowed',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: my.sa}\n',
    want: 'valid',
  },
  {
    name: 'a namespace that is not a DNS label',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: My.NS}\n',
    want: ['metadata.namespace'],
  },
  {
    name: 'a label key with two slashes',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labels: {"a/b/c": x}}\n',
    want: ['metadata.labels["a/b/c"]'],
  },
  {
    name: 'a label value longer than 63',
    yaml: `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labels: {app: ${'v'.repeat(64)}}}\n`,
    want: ['metadata.labels["app"]'],
  },
  {
    name: 'a label value that is a number',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, labels: {version: 1}}\n',
    want: ['metadata.labels["version"]'],
    message: /expected a string/,
  },
  {
    name: 'an annotation key with an invalid prefix',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, annotations: {"Istio.IO/x": y}}\n',
    want: ['metadata.annotations["Istio.IO/x"]'],
  },
  {
    name: 'an unknown metadata field',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, label: {a: b}}\n',
    want: ['metadata.label'],
  },
  {
    name: 'an unknown top-level field',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nextra: 1\n',
    want: ['extra'],
  },
  {
    name: 'kubectl-style metadata fields',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, uid: "123", resourceVersion: "9", generation: 2, creationTimestamp: "2024-01-01T00:00:00Z", managedFields: []}\n',
    want: 'valid',
  },
  {
    name: 'problems in metadata and spec together',
    yaml: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: Bad_Name, labels: {"": x}}\nspec:\n  hosts: ["*"]\n  http:\n  - route:\n    - destination: {host: a}\n      weight: -1\n',
    want: ['metadata.name', 'metadata.labels[""]', 'spec.hosts[0]', 'spec.http[0].route[0].weight'],
  },
];

describe('validation: document envelope and metadata', () => {
  runCases(cases);

  it('rejects a document that is not an object at (document)', () => {
    for (const raw of ['text', 42, ['a'], null]) {
      const r = validateDocument(raw, { source: 'test' });
      assert.equal(r.kind, 'invalid');
      if (r.kind === 'invalid')
        assert.deepEqual(
          r.errors.map((e) => e.path),
          [DOCUMENT_PATH],
        );
    }
  });

  it('keeps the origin and the apiVersion on a valid object', () => {
    const origin = { source: 'file', file: 'a.yaml', index: 3 };
    const r = validateDocument(
      { apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'p' } },
      origin,
    );
    assert.equal(r.kind, 'valid');
    if (r.kind !== 'valid') return;
    assert.deepEqual(r.object.origin, origin);
    assert.equal(r.object.apiVersion, 'security.istio.io/v1beta1');
    assert.deepEqual(r.object.metadata, { name: 'p', namespace: 'default', labels: {}, annotations: {} });
  });

  it('reports kind, name and namespace of an invalid object', () => {
    const r = validateDocument(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'x' }, spec: {} },
      { source: 'test' },
    );
    assert.equal(r.kind, 'invalid');
    if (r.kind !== 'invalid') return;
    assert.equal(r.objectKind, 'Service');
    assert.equal(r.name, 'a');
    assert.equal(r.namespace, 'x');
  });

  it('serves (watch list, CRDs, RBAC) every validated kind but the local mesh\'s Deployment', () => {
    const served = supportedKinds().map((k) => k.kind);
    assert.ok(!served.includes('Deployment'));
    assert.deepEqual([...served, 'Deployment'].sort(), validatedKinds().map((k) => k.kind).sort());
  });

  it('supports every configured kind', () => {
    assert.deepEqual(
      validatedKinds()
        .map((k) => k.kind)
        .sort(),
      [...CONFIG_KINDS].sort(),
    );
  });

  it('does not modify the raw document', () => {
    const raw = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a' },
      spec: { ports: [{ port: 80 }] },
    };
    const copy = structuredClone(raw);
    validateDocument(raw, { source: 'test' });
    assert.deepEqual(raw, copy);
  });
});

describe('validation: hostile input', () => {
  it('keeps a "__proto__" map key as data and rejects it as a label key', () => {
    const raw = JSON.parse(
      '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"a","labels":{"__proto__":"x"}}}',
    ) as unknown;
    const r = validateDocument(raw, { source: 'test' });
    assert.equal(r.kind, 'invalid');
    if (r.kind === 'invalid')
      assert.deepEqual(
        r.errors.map((e) => e.path),
        ['metadata.labels["__proto__"]'],
      );
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });

  it('reports every bad element of a long list', () => {
    const ports = Array.from({ length: 50 }, (_, i) => ({ name: `p${i}`, port: 70000 + i }));
    const r = validateDocument(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' }, spec: { ports } },
      { source: 'test' },
    );
    assert.equal(r.kind, 'invalid');
    if (r.kind === 'invalid') assert.equal(r.errors.length, 50);
  });
});
