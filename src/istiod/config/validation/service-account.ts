/** Kubernetes `ServiceAccount` (v1): only its name matters to the mesh (it is the workload identity). */
import type { ServiceAccountSpec } from '../types.js';
import { ANY, BOOL, arr } from './shape.js';
import type { KindValidator } from './validator.js';

export const serviceAccountValidator: KindValidator<'ServiceAccount'> = {
  kind: 'ServiceAccount',
  apiVersions: ['v1'],
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: {
    secrets: arr(ANY),
    imagePullSecrets: arr(ANY),
    automountServiceAccountToken: BOOL,
  },
  build() {
    const spec: ServiceAccountSpec = {};
    return { spec };
  },
};
