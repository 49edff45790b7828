/**
 * How Istio policies pick what they apply to: a workload `selector`
 * (matchLabels) or a `targetRef`/`targetRefs` to a Service, ServiceEntry or
 * Gateway; at most one of the three.
 */
import type { PolicyTargetReference, WorkloadSelector } from '../types.js';
import { STRING, STRING_MAP, arr, field, index, obj, type Issues, type Shape } from './shape.js';
import { checkSelectorLabels } from './fields.js';

export const WORKLOAD_SELECTOR: Shape = obj({ matchLabels: STRING_MAP });

export const TARGET_REF: Shape = obj({ group: STRING, kind: STRING, name: STRING, namespace: STRING });
export const TARGET_REFS: Shape = arr(TARGET_REF);

/** group/kind pairs a policy may target (Istio's allowedTargetRefs); "" is the core group. */
const ALLOWED_TARGETS: readonly (readonly [string, string])[] = [
  ['', 'Service'],
  ['networking.istio.io', 'ServiceEntry'],
  ['gateway.networking.k8s.io', 'Gateway'],
];

export function checkWorkloadSelector(
  issues: Issues,
  path: string,
  selector: WorkloadSelector | undefined,
): void {
  if (selector === undefined) return;
  checkSelectorLabels(issues, field(path, 'matchLabels'), selector.matchLabels);
}

function checkTargetRef(issues: Issues, path: string, ref: Partial<PolicyTargetReference>): void {
  if (ref.name === undefined || ref.name === '')
    issues.add(field(path, 'name'), 'targetRef name must be set');
  if (ref.namespace !== undefined && ref.namespace !== '') {
    issues.add(
      field(path, 'namespace'),
      'targetRef namespace must not be set; cross namespace referencing is not supported',
    );
  }
  const group = ref.group === 'core' ? '' : (ref.group ?? '');
  const kind = ref.kind ?? '';
  if (!ALLOWED_TARGETS.some(([g, k]) => g === group && k === kind)) {
    issues.add(
      field(path, 'kind'),
      `targetRef must be to a core/Service, networking.istio.io/ServiceEntry or gateway.networking.k8s.io/Gateway, but was ${JSON.stringify(`${ref.group ?? ''}/${kind}`)}`,
    );
  }
}

/** Checks selector/targetRef/targetRefs of a policy spec at `spec`. */
export function checkPolicyTarget(
  issues: Issues,
  spec: {
    readonly selector?: WorkloadSelector;
    readonly targetRef?: Partial<PolicyTargetReference>;
    readonly targetRefs?: readonly Partial<PolicyTargetReference>[];
  },
): void {
  checkWorkloadSelector(issues, 'spec.selector', spec.selector);
  const set = [spec.selector !== undefined, spec.targetRef !== undefined, (spec.targetRefs?.length ?? 0) > 0];
  if (set.filter(Boolean).length > 1) {
    const where =
      spec.targetRefs !== undefined && spec.targetRefs.length > 0 ? 'spec.targetRefs' : 'spec.targetRef';
    issues.add(where, 'only one of selector, targetRef or targetRefs can be set');
  }
  if (spec.targetRef !== undefined) checkTargetRef(issues, 'spec.targetRef', spec.targetRef);
  spec.targetRefs?.forEach((r, i) => checkTargetRef(issues, index('spec.targetRefs', i), r));
}
