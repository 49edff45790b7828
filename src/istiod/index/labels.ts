/**
 * Label rules Istio applies to workloads: selector matching, canonical
 * service name/revision, the owning workload's name and type, and ambient
 * enrollment (which decides the tunnel protocol).
 */
import { TunnelProtocol, WorkloadType } from '../../gen/istio/workload/workload_pb.js';

export type Labels = Readonly<Record<string, string>>;

export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';
export const DATAPLANE_MODE_AMBIENT = 'ambient';
/** Set by the CNI plugin once a pod's redirection is in place. */
export const AMBIENT_REDIRECTION_ANNOTATION = 'ambient.istio.io/redirection';
export const SIDECAR_STATUS_ANNOTATION = 'sidecar.istio.io/status';
/** `http` means the workload terminates HBONE itself. */
export const TUNNEL_LABEL = 'networking.istio.io/tunnel';
export const WORKLOAD_NAME_LABEL = 'service.istio.io/workload-name';

const CANONICAL_NAME_LABELS = ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app'];
const CANONICAL_REVISION_LABELS = [
  'service.istio.io/canonical-revision',
  'app.kubernetes.io/version',
  'version',
];
const JOB_NAME_LABELS = ['batch.kubernetes.io/job-name', 'job-name'];
/** A CronJob names its Jobs "<cronjob>-<scheduled time in minutes>". */
const CRONJOB_JOB_NAME = /^(.+)-\d{8,10}$/;

/** True when every pair of a non-empty selector is in `labels` (empty selectors select nothing). */
export function selectsNonEmpty(selector: Labels | undefined, labels: Labels): boolean {
  if (selector === undefined) return false;
  let n = 0;
  for (const k in selector) {
    n++;
    if (labels[k] !== selector[k]) return false;
  }
  return n > 0;
}

/** The selector itself when it has at least one pair, else undefined. */
export function nonEmpty(selector: Labels | undefined): Labels | undefined {
  if (selector === undefined) return undefined;
  for (const _k in selector) return selector;
  return undefined;
}

function firstLabel(labels: Labels, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = labels[k];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Istio's canonical service: label fallbacks, then the workload name and "latest". */
export function canonicalService(labels: Labels, workloadName: string): { name: string; revision: string } {
  return {
    name: firstLabel(labels, CANONICAL_NAME_LABELS) ?? workloadName,
    revision: firstLabel(labels, CANONICAL_REVISION_LABELS) ?? 'latest',
  };
}

/**
 * The controller a pod belongs to, from the labels its controllers stamp on it:
 * a ReplicaSet pod is named "<deployment>-<pod-template-hash>-<suffix>", a Job
 * pod carries the job name, and a CronJob's Job is "<cronjob>-<minutes>".
 * `service.istio.io/workload-name` overrides the name.
 */
export function podWorkloadOwner(podName: string, labels: Labels): { name: string; type: WorkloadType } {
  let owner: { name: string; type: WorkloadType } = { name: podName, type: WorkloadType.POD };
  const hash = labels['pod-template-hash'];
  const job = firstLabel(labels, JOB_NAME_LABELS);
  if (hash !== undefined && hash !== '') {
    const at = podName.lastIndexOf(`-${hash}-`);
    if (at > 0) owner = { name: podName.slice(0, at), type: WorkloadType.DEPLOYMENT };
  } else if (job !== undefined && job !== '') {
    const cron = CRONJOB_JOB_NAME.exec(job);
    owner =
      cron?.[1] !== undefined
        ? { name: cron[1], type: WorkloadType.CRONJOB }
        : { name: job, type: WorkloadType.JOB };
  }
  const override = labels[WORKLOAD_NAME_LABEL];
  return override === undefined ? owner : { name: override, type: owner.type };
}

/**
 * Whether a pod is captured by the node agent, as istio-cni decides: the
 * namespace or the pod asks for ambient, a pod that sets the label to anything
 * else opts out, and sidecar-injected and host-network pods are never captured.
 */
export function podEnrolled(
  podLabels: Labels,
  podAnnotations: Labels,
  namespaceLabels: Labels | undefined,
  hostNetwork: boolean,
): boolean {
  const podMode = podLabels[DATAPLANE_MODE_LABEL];
  const nsAmbient = namespaceLabels?.[DATAPLANE_MODE_LABEL] === DATAPLANE_MODE_AMBIENT;
  if (podMode !== undefined && podMode !== DATAPLANE_MODE_AMBIENT) return false;
  if (podMode !== DATAPLANE_MODE_AMBIENT && !nsAmbient) return false;
  if (podAnnotations[SIDECAR_STATUS_ANNOTATION] !== undefined) return false;
  return !hostNetwork;
}

/** The tunnel fields istiod derives from labels/annotations (and enrollment for pods). */
export function tunnelFor(
  labels: Labels,
  annotations: Labels,
  enrolled: boolean,
): { tunnelProtocol: TunnelProtocol; nativeTunnel: boolean } {
  if (labels[TUNNEL_LABEL] === 'http') return { tunnelProtocol: TunnelProtocol.HBONE, nativeTunnel: true };
  if (enrolled || annotations[AMBIENT_REDIRECTION_ANNOTATION] === 'enabled') {
    return { tunnelProtocol: TunnelProtocol.HBONE, nativeTunnel: false };
  }
  return { tunnelProtocol: TunnelProtocol.NONE, nativeTunnel: false };
}
