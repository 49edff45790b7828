/**
 * Kubernetes `Deployment` (apps/v1): the parts the local mesh turns into
 * replica pods — replicas, the selector, the pod template's labels,
 * annotations and spec. istiod itself never reads Deployments; a cluster's
 * pods reach it as Pods.
 */
import type { DeploymentSpec } from '../types.js';
import { ANY, INT32, STRING, STRING_MAP, arr, field, obj, type Issues } from './shape.js';
import { checkLabels } from './fields.js';
import { POD_SPEC_SHAPE, buildPodSpec, type RawSpec } from './pod.js';
import type { KindValidator } from './validator.js';

const LABEL_SELECTOR = obj({
  matchLabels: STRING_MAP,
  matchExpressions: arr(obj({ key: STRING, operator: STRING, values: arr(STRING) })),
});

const DEPLOYMENT_SPEC = obj({
  replicas: INT32,
  selector: LABEL_SELECTOR,
  template: obj({
    metadata: obj({ name: STRING, namespace: STRING, labels: STRING_MAP, annotations: STRING_MAP, uid: STRING }),
    spec: POD_SPEC_SHAPE,
  }),
  strategy: ANY,
  minReadySeconds: INT32,
  revisionHistoryLimit: INT32,
  paused: { t: 'bool' },
  progressDeadlineSeconds: INT32,
});

interface RawDeploymentSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  template?: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: RawSpec;
  };
}

function checkSelector(issues: Issues, raw: RawDeploymentSpec, templateLabels: Readonly<Record<string, string>>): Record<string, string> {
  const selector = raw.selector;
  if (selector === undefined) {
    issues.add('spec.selector', 'selector is required');
    return {};
  }
  const matchLabels = selector.matchLabels ?? {};
  checkLabels(issues, 'spec.selector.matchLabels', matchLabels);
  if ((selector.matchExpressions ?? []).length > 0) {
    // Kubernetes accepts them; the local mesh selects by labels only, and a
    // selector it half-understood could adopt pods it must not.
    issues.add('spec.selector.matchExpressions', 'matchExpressions are not supported by the local mesh; use matchLabels');
  }
  if (Object.keys(matchLabels).length === 0) {
    issues.add('spec.selector', 'empty selector is invalid for deployment');
    return matchLabels;
  }
  const mismatch = Object.entries(matchLabels).filter(([k, v]) => templateLabels[k] !== v);
  if (mismatch.length > 0) {
    issues.add(
      'spec.template.metadata.labels',
      `\`selector\` does not match template \`labels\`: ${mismatch.map(([k, v]) => `${k}=${v}`).join(', ')} missing`,
    );
  }
  return matchLabels;
}

export const deploymentValidator: KindValidator<'Deployment'> = {
  kind: 'Deployment',
  apiVersions: ['apps/v1'],
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: DEPLOYMENT_SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawDeploymentSpec;
    if (top['spec'] === undefined) issues.add('spec', 'spec is required');
    const replicas = raw.replicas ?? 1;
    if (replicas < 0) issues.add('spec.replicas', 'must be greater than or equal to 0');
    const labels = raw.template?.metadata?.labels ?? {};
    const annotations = raw.template?.metadata?.annotations ?? {};
    checkLabels(issues, 'spec.template.metadata.labels', labels);
    const matchLabels = checkSelector(issues, raw, labels);
    if (raw.template?.spec === undefined) issues.add(field('spec.template', 'spec'), 'template spec is required');
    const podSpec = buildPodSpec(issues, raw.template?.spec ?? {}, 'spec.template.spec');
    const spec: DeploymentSpec = {
      replicas,
      selector: { matchLabels },
      template: { labels, annotations, spec: podSpec },
    };
    return { spec };
  },
};
