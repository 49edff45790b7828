import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { validateDocument } from '../../../../src/istiod/config/validation/index.js';
import { desiredState, desiredWorkload, type LocatedObject } from '../../../../src/mesh/workloads/desired.js';
import { podTemplateHash } from '../../../../src/mesh/workloads/pod-names.js';

/** Every document of `text`, validated, located as `file[index]`. */
function objects(text: string, file = 'applied.yaml'): LocatedObject[] {
  return parseAllDocuments(text).map((d, index) => {
    const raw = d.toJS() as unknown;
    const r = validateDocument(raw, { source: 'file', file, index });
    assert.equal(r.kind, 'valid', r.kind === 'invalid' ? JSON.stringify(r.errors) : '');
    if (r.kind !== 'valid') throw new Error('unreachable');
    return { object: r.object, raw, where: `${file}[${index}]` };
  });
}

const REVIEWS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: bookinfo, labels: {app: reviews}}
spec:
  replicas: 3
  selector: {matchLabels: {app: reviews, version: v2}}
  template:
    metadata:
      labels: {app: reviews, version: v2}
      annotations: {sidecar.istio.io/inject: "false"}
    spec:
      serviceAccountName: bookinfo-reviews
      containers:
      - name: reviews
        image: docker.io/istio/examples-bookinfo-reviews-v2:1.20.3
        env: [{name: LOG_DIR, value: /tmp/logs}]
        ports: [{containerPort: 9080}]
`;

const CURL = `
apiVersion: v1
kind: Pod
metadata: {name: curl, namespace: bookinfo, labels: {app: curl}}
spec:
  containers:
  - {name: curl, image: curlimages/curl, command: [/bin/sleep, infinity]}
`;

function service(name: string, clusterIP?: string): string {
  const ip = clusterIP === undefined ? '' : `\n  clusterIP: ${clusterIP}`;
  return `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: bookinfo}\nspec:\n  ports: [{port: 9080, name: http}]\n  selector: {app: ${name}}${ip}\n`;
}

describe('mesh workloads: desired state', () => {
  describe('desiredWorkload', () => {
    it('turns a Deployment into its pods: template labels plus pod-template-hash of the raw template', () => {
      const [o] = objects(REVIEWS);
      const w = desiredWorkload(o!);
      assert.ok(w !== undefined);
      const raw = o!.raw as { spec: { template: unknown } };
      const hash = podTemplateHash(raw.spec.template);
      assert.equal(w.templateHash, hash);
      assert.deepEqual(w.labels, { app: 'reviews', version: 'v2', 'pod-template-hash': hash });
      assert.deepEqual(w.annotations, { 'sidecar.istio.io/inject': 'false' });
      assert.deepEqual(
        [w.kind, w.namespace, w.name, w.where, w.replicas, w.spec.serviceAccountName],
        ['Deployment', 'bookinfo', 'reviews-v2', 'applied.yaml[0]', 3, 'bookinfo-reviews'],
      );
      assert.deepEqual(w.spec.containers[0]?.env, [{ kind: 'value', name: 'LOG_DIR', value: '/tmp/logs' }]);
    });

    it('keeps the template hash when only the Deployment around the template changes', () => {
      const [a] = objects(REVIEWS);
      const [b] = objects(
        REVIEWS.replace('replicas: 3', 'replicas: 1').replace(
          'labels: {app: reviews}}',
          'labels: {app: other}}',
        ),
      );
      assert.deepEqual(
        [a!.object.metadata.labels, b!.object.metadata.labels],
        [{ app: 'reviews' }, { app: 'other' }],
      );
      assert.deepEqual([desiredWorkload(a!)?.replicas, desiredWorkload(b!)?.replicas], [3, 1]);
      assert.equal(desiredWorkload(b!)?.templateHash, desiredWorkload(a!)?.templateHash);
    });

    it('changes the template hash when the template changes', () => {
      const [a] = objects(REVIEWS);
      const [b] = objects(REVIEWS.replace('reviews-v2:1.20.3', 'reviews-v2:1.20.4'));
      assert.notEqual(desiredWorkload(b!)?.templateHash, desiredWorkload(a!)?.templateHash);
    });

    it('turns a Pod into one replica under its own labels, hashed over labels, annotations and spec', () => {
      const [o] = objects(CURL);
      const w = desiredWorkload(o!);
      assert.deepEqual([w?.kind, w?.name, w?.replicas, w?.labels], ['Pod', 'curl', 1, { app: 'curl' }]);
      assert.deepEqual(w?.spec.containers[0]?.command, ['/bin/sleep', 'infinity']);
      const [relabelled] = objects(CURL.replace('labels: {app: curl}', 'labels: {app: curl2}'));
      assert.notEqual(desiredWorkload(relabelled!)?.templateHash, w?.templateHash);
    });

    it('is undefined for kinds that are not workloads', () => {
      const [o] = objects(service('reviews'));
      assert.equal(desiredWorkload(o!), undefined);
    });
  });

  describe('desiredState', () => {
    it('lets a later object with the same identity replace an earlier one', () => {
      const first = objects(REVIEWS, 'old.yaml');
      const second = objects(REVIEWS.replace('replicas: 3', 'replicas: 5'), 'new.yaml');
      const s = desiredState([...first, ...second]);
      assert.deepEqual(
        s.workloads.map((w) => [w.name, w.replicas, w.where]),
        [['reviews-v2', 5, 'new.yaml[0]']],
      );
    });

    it('keeps workloads of different kinds or namespaces apart, sorted by namespace, kind and name', () => {
      const other = REVIEWS.replace('namespace: bookinfo', 'namespace: alpha');
      const s = desiredState(objects([REVIEWS, CURL, other].join('---\n')));
      assert.deepEqual(
        s.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}`),
        ['alpha/Deployment/reviews-v2', 'bookinfo/Deployment/reviews-v2', 'bookinfo/Pod/curl'],
      );
    });

    it("records each Namespace's labels", () => {
      const s = desiredState(
        objects(
          'apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}\n---\n' +
            'apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}\n',
        ),
      );
      assert.deepEqual(
        [...s.namespaces],
        [
          ['bookinfo', { 'istio.io/dataplane-mode': 'ambient' }],
          ['plain', {}],
        ],
      );
    });

    it('lists Services with a cluster IP, skipping headless ones and those without', () => {
      const s = desiredState(
        objects(
          [service('reviews', '10.96.7.7'), service('headless', 'None'), service('later')].join('---\n'),
        ),
      );
      assert.deepEqual(s.services, [{ namespace: 'bookinfo', name: 'reviews', clusterIp: '10.96.7.7', selector: { app: 'reviews' }, ports: [{ port: 9080, protocol: 'TCP' }] }]);
      assert.deepEqual([s.workloads, s.namespaces.size], [[], 0]);
    });
  });
});
