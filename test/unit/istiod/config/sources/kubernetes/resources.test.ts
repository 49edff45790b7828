import assert from 'node:assert/strict';
import {
  apiVersionOf,
  collectionPath,
  pickVersion,
  WATCHED_RESOURCE_SPECS,
  type ResourceSpec,
} from '../../../../../../src/istiod/config/sources/kubernetes/resources.js';
import { supportedKinds } from '../../../../../../src/istiod/config/validation/index.js';

const AUTHZ: ResourceSpec = {
  kind: 'AuthorizationPolicy',
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  plural: 'authorizationpolicies',
  namespaced: true,
};

describe('kubernetes source resources', () => {
  const paths = [
    { r: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true }, apiVersion: 'v1', path: '/api/v1/pods' },
    {
      r: { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true },
      apiVersion: 'discovery.k8s.io/v1',
      path: '/apis/discovery.k8s.io/v1/endpointslices',
    },
  ];
  for (const c of paths) {
    it(`${c.r.kind} is ${c.apiVersion} at ${c.path}`, () => {
      assert.equal(apiVersionOf(c.r), c.apiVersion);
      assert.equal(collectionPath(c.r), c.path);
    });
  }

  const picks = [
    { served: ['v1', 'v1beta1'], want: 'v1' },
    { served: ['v1beta1', 'v1'], want: 'v1' },
    { served: ['v1beta1'], want: 'v1beta1' },
    { served: ['v1alpha1'], want: undefined },
    { served: [], want: undefined },
  ];
  for (const c of picks) {
    it(`picks ${c.want ?? 'nothing'} when the group serves [${c.served.join(', ')}]`, () => {
      assert.equal(pickVersion(AUTHZ, c.served)?.version, c.want);
    });
  }

  it('watches every kind the validator knows, at a version the validator accepts', () => {
    const watched = new Map(WATCHED_RESOURCE_SPECS.map((s) => [s.kind, s]));
    for (const { kind, apiVersions } of supportedKinds()) {
      const spec = watched.get(kind);
      assert.ok(spec, `${kind} is watched`);
      for (const v of spec.versions) assert.ok(apiVersions.includes(apiVersionOf({ group: spec.group, version: v })), `${kind} ${v}`);
    }
  });
});
