/**
 * Gateway API `ReferenceGrant` (gateway.networking.k8s.io v1beta1; v1alpha2
 * in older releases, v1 from 1.5): which kinds in which namespaces may refer
 * to which kinds here. `from` and `to` are required lists of 1..16 entries
 * (apis/v1beta1 referencegrant_types.go). Stored as validated plain data.
 */
import type { L7Spec } from '../types.js';
import { STRING, arr, field, index, obj, type Issues } from './shape.js';
import {
  GROUP_RULE,
  KIND_RULE,
  NAMESPACE_RULE,
  OBJECT_NAME_RULE,
  checkMaxItems,
  checkRequiredList,
  checkText,
  requireText,
} from './gateway-api-refs.js';
import { gatewayApiVersions, type KindValidator } from './validator.js';

const SPEC = obj({
  from: arr(obj({ group: STRING, kind: STRING, namespace: STRING })),
  to: arr(obj({ group: STRING, kind: STRING, name: STRING })),
});

interface Entry {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
}
interface RawSpec {
  readonly from?: readonly Entry[];
  readonly to?: readonly Entry[];
}

function checkGroupKind(issues: Issues, path: string, e: Entry): void {
  if (requireText(issues, field(path, 'group'), e.group, 'group')) checkText(issues, field(path, 'group'), e.group, GROUP_RULE);
  if (requireText(issues, field(path, 'kind'), e.kind, 'kind')) checkText(issues, field(path, 'kind'), e.kind, KIND_RULE);
}

export const referenceGrantValidator: KindValidator<'ReferenceGrant'> = {
  kind: 'ReferenceGrant',
  apiVersions: gatewayApiVersions('v1beta1', 'v1alpha2', 'v1'),
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC },
  build(top, _meta, issues) {
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    const raw = top['spec'] as RawSpec;
    for (const side of ['from', 'to'] as const) {
      checkRequiredList(issues, `spec.${side}`, raw[side], side);
      checkMaxItems(issues, `spec.${side}`, raw[side], 16, `${side} entries`);
    }
    raw.from?.forEach((e, i) => {
      const p = index('spec.from', i);
      checkGroupKind(issues, p, e);
      if (requireText(issues, field(p, 'namespace'), e.namespace, 'namespace'))
        checkText(issues, field(p, 'namespace'), e.namespace, NAMESPACE_RULE);
    });
    raw.to?.forEach((e, i) => {
      const p = index('spec.to', i);
      checkGroupKind(issues, p, e);
      checkText(issues, field(p, 'name'), e.name, OBJECT_NAME_RULE);
    });
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
