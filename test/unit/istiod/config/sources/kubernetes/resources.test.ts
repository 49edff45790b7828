import assert from 'node:assert/strict';
import {
  apiVersionOf,
  collectionPath,
  configKindOf,
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
    const watched = new Map(WATCHED_RESOURCE_SPECS.map((s) => [configKindOf(s), s]));
    for (const { kind, apiKind, group, apiVersions, namespaced } of supportedKinds()) {
      const spec = watched.get(kind);
      assert.ok(spec, `${kind} is watched`);
      assert.deepEqual({ kind: spec.kind, group: spec.group, namespaced: spec.namespaced }, { kind: apiKind, group, namespaced }, kind);
      for (const v of spec.versions) assert.ok(apiVersions.includes(apiVersionOf({ group: spec.group, version: v })), `${kind} ${v}`);
    }
  });

  const gatewayApi = [
    { kind: 'GatewayClass', configKind: 'GatewayClass', path: '/apis/gateway.networking.k8s.io/v1/gatewayclasses' },
    { kind: 'Gateway', configKind: 'KubernetesGateway', path: '/apis/gateway.networking.k8s.io/v1/gateways' },
    { kind: 'HTTPRoute', configKind: 'HTTPRoute', path: '/apis/gateway.networking.k8s.io/v1/httproutes' },
    { kind: 'GRPCRoute', configKind: 'GRPCRoute', path: '/apis/gateway.networking.k8s.io/v1/grpcroutes' },
    { kind: 'TCPRoute', configKind: 'TCPRoute', path: '/apis/gateway.networking.k8s.io/v1alpha2/tcproutes' },
    { kind: 'ReferenceGrant', configKind: 'ReferenceGrant', path: '/apis/gateway.networking.k8s.io/v1beta1/referencegrants' },
  ];
  // The Gateway API v1.3 CRDs: the group serves v1, v1beta1 and v1alpha2, but each resource only some of them.
  const v13 = new Map<string, ReadonlySet<string>>([
    ['v1', new Set(['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes'])],
    ['v1beta1', new Set(['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'])],
    ['v1alpha2', new Set(['tcproutes'])],
  ]);
  for (const c of gatewayApi) {
    it(`watches the Gateway API ${c.kind} of a v1.3 install at ${c.path}, stored as ${c.configKind}`, () => {
      const spec = WATCHED_RESOURCE_SPECS.find((s) => s.group === 'gateway.networking.k8s.io' && s.kind === c.kind);
      assert.ok(spec);
      const picked = pickVersion(spec, [...v13.keys()], v13);
      assert.ok(picked);
      assert.equal(collectionPath(picked), c.path);
      assert.equal(configKindOf(picked), c.configKind);
    });
  }

  it('skips a resource no served version lists (an experimental CRD not installed)', () => {
    const tcp = WATCHED_RESOURCE_SPECS.find((s) => s.kind === 'TCPRoute');
    assert.ok(tcp);
    const standard = new Map([...v13].filter(([v]) => v !== 'v1alpha2'));
    assert.equal(pickVersion(tcp, [...standard.keys()], standard), undefined);
  });
});
