/** Kubernetes `Namespace` (v1): a DNS-1123 label name, cluster-scoped. */
import type { NamespaceSpec } from '../types.js';
import { ANY, STRING, STRINGS, arr, obj } from './shape.js';
import type { KindValidator } from './validator.js';

export const namespaceValidator: KindValidator<'Namespace'> = {
  kind: 'Namespace',
  apiVersions: ['v1'],
  namespaced: false,
  nameRule: 'dns1123-label',
  topLevel: {
    spec: obj({ finalizers: STRINGS }),
    status: obj({ phase: STRING, conditions: arr(ANY) }),
  },
  build() {
    const spec: NamespaceSpec = {};
    return { spec };
  },
};
