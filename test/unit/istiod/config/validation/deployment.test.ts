import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { doc, runCases, type ValidationCase } from './table.js';

/** The reviews-v2 Deployment exactly as the Bookinfo sample ships it. */
function bookinfoReviewsV2(): string {
  const file = fileURLToPath(
    new URL('../../../../../examples/samples/bookinfo/bookinfo.yaml', import.meta.url),
  );
  const found = parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } })
    .find((o) => o.kind === 'Deployment' && o.metadata?.name === 'reviews-v2');
  assert.ok(found !== undefined, `${file} has no reviews-v2 Deployment`);
  return stringify(found);
}

const deploy = (spec: string): string => doc('apps/v1', 'Deployment', spec);

/** A spec with selector and template labels `app: web`, and the given pod spec fragment (indented under `spec:`). */
const withPod = (podSpec: string, extra = ''): string =>
  deploy(`${extra}selector: {matchLabels: {app: web}}
template:
  metadata: {labels: {app: web}}
  spec:
${podSpec
  .replace(/^\n+|\s+$/g, '')
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}`);

const env = (entry: string): string =>
  withPod(`containers:\n- name: web\n  image: kong/httpbin\n  env:\n  - ${entry}`);

const deploymentCases: ValidationCase[] = [
  {
    name: 'the Bookinfo reviews-v2 Deployment',
    yaml: bookinfoReviewsV2(),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'Deployment');
      if (o.kind !== 'Deployment') return;
      assert.equal(o.spec.replicas, 1);
      assert.deepEqual(o.spec.selector.matchLabels, { app: 'reviews', version: 'v2' });
      assert.deepEqual(o.spec.template.labels, { app: 'reviews', version: 'v2' });
      assert.equal(o.spec.template.spec.serviceAccountName, 'bookinfo-reviews');
      const [c] = o.spec.template.spec.containers;
      assert.equal(c?.image, 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.3');
      assert.deepEqual(c?.env, [{ kind: 'value', name: 'LOG_DIR', value: '/tmp/logs' }]);
      assert.deepEqual(c?.ports, [{ containerPort: 9080, protocol: 'TCP' }]);
    },
  },
  {
    name: 'replicas left out',
    yaml: withPod('containers: [{name: web, image: kong/httpbin}]'),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind === 'Deployment' ? o.spec.replicas : undefined, 1);
    },
  },
  {
    name: 'zero replicas',
    yaml: withPod('containers: [{name: web}]', 'replicas: 0\n'),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind === 'Deployment' ? o.spec.replicas : undefined, 0);
    },
  },
  {
    name: 'negative replicas',
    yaml: withPod('containers: [{name: web}]', 'replicas: -1\n'),
    want: ['spec.replicas'],
  },
  {
    name: 'no selector',
    yaml: deploy('template:\n  metadata: {labels: {app: web}}\n  spec:\n    containers: [{name: web}]'),
    want: ['spec.selector'],
  },
  {
    name: 'an empty matchLabels',
    yaml: deploy(
      'selector: {matchLabels: {}}\ntemplate:\n  metadata: {labels: {app: web}}\n  spec:\n    containers: [{name: web}]',
    ),
    want: ['spec.selector'],
  },
  {
    name: 'a selector the template labels do not match',
    yaml: deploy(
      'selector: {matchLabels: {app: web, version: v1}}\ntemplate:\n  metadata: {labels: {app: web}}\n  spec:\n    containers: [{name: web}]',
    ),
    want: ['spec.template.metadata.labels'],
    message: /version=v1/,
  },
  {
    name: 'matchExpressions in the selector',
    yaml: deploy(
      'selector:\n  matchLabels: {app: web}\n  matchExpressions: [{key: tier, operator: In, values: [front]}]\ntemplate:\n  metadata: {labels: {app: web}}\n  spec:\n    containers: [{name: web}]',
    ),
    want: ['spec.selector.matchExpressions'],
  },
  { name: 'no containers', yaml: withPod('containers: []'), want: ['spec.template.spec.containers'] },
  {
    name: 'no template spec',
    yaml: deploy('selector: {matchLabels: {app: web}}\ntemplate:\n  metadata: {labels: {app: web}}'),
    want: ['spec.template.spec', 'spec.template.spec.containers'],
  },
  {
    name: 'duplicate container names',
    yaml: withPod('containers: [{name: web}, {name: web}]'),
    want: ['spec.template.spec.containers[1].name'],
  },
  {
    name: 'an unknown template spec field',
    yaml: withPod('containers: [{name: web}]\nnodeNmae: node-a'),
    want: ['spec.template.spec.nodeNmae'],
  },
  {
    name: 'an env var with a value',
    yaml: env('{name: LOG_DIR, value: /tmp/logs}'),
    want: 'valid',
    check: (o) => {
      if (o.kind !== 'Deployment') assert.fail(o.kind);
      assert.deepEqual(o.spec.template.spec.containers[0]?.env, [
        { kind: 'value', name: 'LOG_DIR', value: '/tmp/logs' },
      ]);
    },
  },
  {
    name: 'an env var from fieldRef metadata.name',
    yaml: env('{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}'),
    want: 'valid',
    check: (o) => {
      if (o.kind !== 'Deployment') assert.fail(o.kind);
      assert.deepEqual(o.spec.template.spec.containers[0]?.env, [
        { kind: 'field', name: 'POD_NAME', fieldPath: 'metadata.name' },
      ]);
    },
  },
  {
    name: 'an env var from an unsupported field path',
    yaml: env('{name: X, valueFrom: {fieldRef: {fieldPath: "metadata.labels[\'app\']"}}}'),
    want: ['spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath'],
    message: /unsupported field path/,
  },
  {
    name: 'an env var from a secretKeyRef',
    yaml: env('{name: TOKEN, valueFrom: {secretKeyRef: {name: s, key: token}}}'),
    want: ['spec.template.spec.containers[0].env[0].valueFrom'],
  },
  {
    name: 'an env var with both value and valueFrom',
    yaml: env('{name: X, value: a, valueFrom: {fieldRef: {fieldPath: metadata.name}}}'),
    want: ['spec.template.spec.containers[0].env[0].valueFrom'],
  },
  {
    name: 'an env var without a name',
    yaml: env('{value: a}'),
    want: ['spec.template.spec.containers[0].env[0].name'],
  },
  {
    name: 'apiVersion apps/v1beta1',
    yaml: doc(
      'apps/v1beta1',
      'Deployment',
      'selector: {matchLabels: {app: web}}\ntemplate:\n  metadata: {labels: {app: web}}\n  spec:\n    containers: [{name: web}]',
    ),
    want: ['apiVersion'],
  },
];

const podCases: ValidationCase[] = [
  {
    name: 'a Pod with command, args and env',
    yaml: doc(
      'v1',
      'Pod',
      `containers:
- name: curl
  image: curlimages/curl
  command: [/bin/sh, -c]
  args: ["sleep 3600"]
  env:
  - {name: MODE, value: debug}
  - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}`,
    ),
    want: 'valid',
    check: (o) => {
      if (o.kind !== 'Pod') assert.fail(o.kind);
      const [c] = o.spec.containers;
      assert.deepEqual(c?.command, ['/bin/sh', '-c']);
      assert.deepEqual(c?.args, ['sleep 3600']);
      assert.deepEqual(c?.env, [
        { kind: 'value', name: 'MODE', value: 'debug' },
        { kind: 'field', name: 'POD_IP', fieldPath: 'status.podIP' },
      ]);
    },
  },
  {
    name: 'a Pod whose command is not a list of strings',
    yaml: doc('v1', 'Pod', 'containers:\n- {name: curl, command: "sleep 3600"}'),
    want: ['spec.containers[0].command'],
  },
];

describe('validation: Deployment', () => {
  runCases(deploymentCases);
});

describe('validation: Pod command, args and env', () => {
  runCases(podCases);
});
