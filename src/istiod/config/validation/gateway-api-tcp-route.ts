/**
 * Gateway API `TCPRoute` (gateway.networking.k8s.io v1alpha2, experimental
 * channel; v1 from release 1.5): 1..16 rules, each with 1..16 backendRefs
 * (apis/v1alpha2 tcproute_types.go). The spec is stored as validated plain
 * data.
 */
import type { L7Spec } from '../types.js';
import { ANY, STRING, arr, field, index, obj } from './shape.js';
import {
  BACKEND_REF,
  COMMON_ROUTE_FIELDS,
  SECTION_NAME_RULE,
  checkBackendRefs,
  checkMaxItems,
  checkParentRefs,
  checkRequiredList,
  checkText,
  type BackendObjectRef,
  type ParentRef,
} from './gateway-api-refs.js';
import { gatewayApiVersions, type KindValidator } from './validator.js';

const SPEC = obj({
  ...COMMON_ROUTE_FIELDS,
  rules: arr(obj({ name: STRING, backendRefs: arr(BACKEND_REF) })),
});

interface RawSpec {
  readonly parentRefs?: readonly ParentRef[];
  readonly rules?: readonly { readonly name?: string; readonly backendRefs?: readonly BackendObjectRef[] }[];
}

export const tcpRouteValidator: KindValidator<'TCPRoute'> = {
  kind: 'TCPRoute',
  apiVersions: gatewayApiVersions('v1alpha2', 'v1'),
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    const raw = top['spec'] as RawSpec;
    checkParentRefs(issues, 'spec.parentRefs', raw.parentRefs);
    checkRequiredList(issues, 'spec.rules', raw.rules, 'rules');
    checkMaxItems(issues, 'spec.rules', raw.rules, 16, 'rules');
    raw.rules?.forEach((r, i) => {
      const p = index('spec.rules', i);
      checkText(issues, field(p, 'name'), r.name, SECTION_NAME_RULE);
      checkRequiredList(issues, field(p, 'backendRefs'), r.backendRefs, 'backendRefs');
      checkBackendRefs(issues, field(p, 'backendRefs'), r.backendRefs);
    });
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
