/**
 * Kubernetes `Pod` (v1): the containers and their ports, the service
 * account, the node, and the status IPs the mesh turns into workloads.
 */
import type { Container, ContainerPort, EnvVar, PodSpec, PodStatus } from '../types.js';
import {
  ANY,
  BOOL,
  INT32,
  INT64,
  STRING,
  STRING_MAP,
  STRINGS,
  arr,
  enumOf,
  field,
  index,
  obj,
  type Issues,
} from './shape.js';
import {
  checkLabels,
  checkPort,
  dns1123LabelError,
  dns1123SubdomainError,
  ianaSvcNameError,
  ipError,
} from './fields.js';
import type { KindValidator } from './validator.js';

const CONTAINER_PORT = obj({
  containerPort: INT32,
  hostIP: STRING,
  hostPort: INT32,
  name: STRING,
  protocol: enumOf('TCP', 'UDP', 'SCTP'),
});

const CONTAINER = obj({
  name: STRING,
  image: STRING,
  imagePullPolicy: enumOf('Always', 'Never', 'IfNotPresent'),
  command: STRINGS,
  args: STRINGS,
  workingDir: STRING,
  ports: arr(CONTAINER_PORT),
  env: arr(
    obj({
      name: STRING,
      value: STRING,
      valueFrom: obj({
        fieldRef: obj({ apiVersion: STRING, fieldPath: STRING }),
        resourceFieldRef: ANY,
        configMapKeyRef: ANY,
        secretKeyRef: ANY,
      }),
    }),
  ),
  envFrom: arr(ANY),
  resources: ANY,
  resizePolicy: arr(ANY),
  restartPolicy: STRING,
  volumeMounts: arr(ANY),
  volumeDevices: arr(ANY),
  livenessProbe: ANY,
  readinessProbe: ANY,
  startupProbe: ANY,
  lifecycle: ANY,
  terminationMessagePath: STRING,
  terminationMessagePolicy: STRING,
  securityContext: ANY,
  stdin: BOOL,
  stdinOnce: BOOL,
  tty: BOOL,
});

const POD_SPEC = obj({
  containers: arr(CONTAINER),
  initContainers: arr(CONTAINER),
  ephemeralContainers: arr(ANY),
  volumes: arr(ANY),
  restartPolicy: enumOf('Always', 'OnFailure', 'Never'),
  terminationGracePeriodSeconds: INT64,
  activeDeadlineSeconds: INT64,
  dnsPolicy: STRING,
  dnsConfig: ANY,
  nodeSelector: STRING_MAP,
  nodeName: STRING,
  serviceAccountName: STRING,
  serviceAccount: STRING,
  automountServiceAccountToken: BOOL,
  hostNetwork: BOOL,
  hostPID: BOOL,
  hostIPC: BOOL,
  hostUsers: BOOL,
  shareProcessNamespace: BOOL,
  securityContext: ANY,
  imagePullSecrets: arr(ANY),
  hostname: STRING,
  subdomain: STRING,
  setHostnameAsFQDN: BOOL,
  affinity: ANY,
  schedulerName: STRING,
  tolerations: arr(ANY),
  hostAliases: arr(ANY),
  priorityClassName: STRING,
  priority: INT32,
  preemptionPolicy: STRING,
  readinessGates: arr(ANY),
  runtimeClassName: STRING,
  enableServiceLinks: BOOL,
  overhead: ANY,
  topologySpreadConstraints: arr(ANY),
  os: ANY,
  schedulingGates: arr(ANY),
  resourceClaims: arr(ANY),
  resources: ANY,
});

const POD_STATUS = obj({
  phase: enumOf('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'),
  conditions: arr(
    obj({
      type: STRING,
      status: STRING,
      lastProbeTime: STRING,
      lastTransitionTime: STRING,
      reason: STRING,
      message: STRING,
      observedGeneration: INT64,
    }),
  ),
  message: STRING,
  reason: STRING,
  nominatedNodeName: STRING,
  hostIP: STRING,
  hostIPs: arr(obj({ ip: STRING })),
  podIP: STRING,
  podIPs: arr(obj({ ip: STRING })),
  startTime: STRING,
  initContainerStatuses: arr(ANY),
  containerStatuses: arr(ANY),
  ephemeralContainerStatuses: arr(ANY),
  qosClass: STRING,
  resize: STRING,
  resourceClaimStatuses: arr(ANY),
  observedGeneration: INT64,
});

interface RawPort {
  containerPort?: number;
  name?: string;
  protocol?: ContainerPort['protocol'];
  hostPort?: number;
  hostIP?: string;
}
interface RawEnv {
  name?: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string }; [k: string]: unknown };
}
interface RawContainer {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: RawEnv[];
  ports?: RawPort[];
}
export interface RawSpec {
  containers?: RawContainer[];
  initContainers?: RawContainer[];
  nodeName?: string;
  serviceAccountName?: string;
  serviceAccount?: string;
  hostNetwork?: boolean;
  nodeSelector?: Record<string, string>;
}
interface RawStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip?: string }[];
  conditions?: { type?: string; status?: string }[];
}

function buildContainers(
  issues: Issues,
  list: RawContainer[],
  base: string,
  names: Set<string>,
  portNames: Set<string>,
): Container[] {
  return list.map((c, i) => {
    const path = index(base, i);
    if (c.name === undefined || c.name === '') {
      issues.add(field(path, 'name'), 'name is required');
    } else {
      const e = dns1123LabelError(c.name);
      if (e !== undefined) issues.add(field(path, 'name'), e);
      if (names.has(c.name))
        issues.add(field(path, 'name'), `duplicate container name ${JSON.stringify(c.name)}`);
      names.add(c.name);
    }
    const ports = (c.ports ?? []).map((p, j): ContainerPort => {
      const pp = index(field(path, 'ports'), j);
      if (p.containerPort === undefined) issues.add(field(pp, 'containerPort'), 'containerPort is required');
      else checkPort(issues, field(pp, 'containerPort'), p.containerPort);
      if (p.hostPort !== undefined && p.hostPort !== 0) checkPort(issues, field(pp, 'hostPort'), p.hostPort);
      if (p.hostIP !== undefined && p.hostIP !== '') {
        const e = ipError(p.hostIP);
        if (e !== undefined) issues.add(field(pp, 'hostIP'), e);
      }
      if (p.name !== undefined && p.name !== '') {
        const e = ianaSvcNameError(p.name);
        if (e !== undefined) issues.add(field(pp, 'name'), e);
        if (portNames.has(p.name))
          issues.add(field(pp, 'name'), `duplicate port name ${JSON.stringify(p.name)}`);
        portNames.add(p.name);
      }
      return {
        ...(p.name !== undefined ? { name: p.name } : {}),
        containerPort: p.containerPort ?? 0,
        protocol: p.protocol ?? 'TCP',
      };
    });
    const env = buildEnv(issues, c.env ?? [], field(path, 'env'));
    return {
      name: c.name ?? '',
      ...(c.image !== undefined ? { image: c.image } : {}),
      ...(c.command !== undefined ? { command: c.command } : {}),
      ...(c.args !== undefined ? { args: c.args } : {}),
      env,
      ports,
    };
  });
}

/** The pod fields a container's `env[].valueFrom.fieldRef` may name (the downward API). */
const ENV_FIELD_PATHS = new Set([
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.podIP',
  'status.podIPs',
  'status.hostIP',
]);

function buildEnv(issues: Issues, list: RawEnv[], base: string): EnvVar[] {
  const out: EnvVar[] = [];
  list.forEach((e, i) => {
    const path = index(base, i);
    if (e.name === undefined || e.name === '') {
      issues.add(field(path, 'name'), 'name is required');
      return;
    }
    if (e.valueFrom === undefined) {
      out.push({ kind: 'value', name: e.name, value: e.value ?? '' });
      return;
    }
    if (e.value !== undefined && e.value !== '') {
      issues.add(field(path, 'valueFrom'), 'may not be specified when `value` is not empty');
      return;
    }
    const fieldPath = e.valueFrom.fieldRef?.fieldPath;
    if (fieldPath === undefined) {
      // ConfigMap, Secret and resource references have no source here: an empty
      // value would hide the gap, so the object is refused with the reason.
      issues.add(field(path, 'valueFrom'), 'only fieldRef is supported (no ConfigMap, Secret or resource values here)');
      return;
    }
    if (!ENV_FIELD_PATHS.has(fieldPath)) {
      issues.add(field(field(field(path, 'valueFrom'), 'fieldRef'), 'fieldPath'), `unsupported field path ${JSON.stringify(fieldPath)}; supported: ${[...ENV_FIELD_PATHS].join(', ')}`);
      return;
    }
    out.push({ kind: 'field', name: e.name, fieldPath });
  });
  return out;
}

/**
 * The checks of a pod spec found at `base` (`spec` in a Pod,
 * `spec.template.spec` in a Deployment); problems carry paths below it.
 */
export function buildPodSpec(issues: Issues, raw: RawSpec, base: string): PodSpec {
  const names = new Set<string>();
  const portNames = new Set<string>();
  if (raw.containers === undefined || raw.containers.length === 0) {
    issues.add(field(base, 'containers'), 'at least one container is required');
  }
  const containers = buildContainers(issues, raw.containers ?? [], field(base, 'containers'), names, portNames);
  buildContainers(issues, raw.initContainers ?? [], field(base, 'initContainers'), names, new Set());
  const sa = raw.serviceAccountName ?? raw.serviceAccount;
  if (raw.serviceAccountName !== undefined && raw.serviceAccountName !== '') {
    const e = dns1123SubdomainError(raw.serviceAccountName);
    if (e !== undefined) issues.add(field(base, 'serviceAccountName'), e);
  }
  if (raw.nodeName !== undefined && raw.nodeName !== '') {
    const e = dns1123SubdomainError(raw.nodeName);
    if (e !== undefined) issues.add(field(base, 'nodeName'), e);
  }
  checkLabels(issues, field(base, 'nodeSelector'), raw.nodeSelector);
  return {
    ...(raw.nodeName !== undefined ? { nodeName: raw.nodeName } : {}),
    ...(sa !== undefined && sa !== '' ? { serviceAccountName: sa } : {}),
    ...(raw.hostNetwork !== undefined ? { hostNetwork: raw.hostNetwork } : {}),
    containers,
  };
}

/** The structural shape of a pod spec, for kinds that embed one. */
export const POD_SPEC_SHAPE = POD_SPEC;

function buildStatus(issues: Issues, raw: RawStatus | undefined): PodStatus | undefined {
  if (raw === undefined) return undefined;
  if (raw.podIP !== undefined && raw.podIP !== '') {
    const e = ipError(raw.podIP);
    if (e !== undefined) issues.add('status.podIP', e);
  }
  const podIPs = raw.podIPs?.map((p, i) => {
    const path = field(index('status.podIPs', i), 'ip');
    if (p.ip === undefined || p.ip === '') issues.add(path, 'ip is required');
    else {
      const e = ipError(p.ip);
      if (e !== undefined) issues.add(path, e);
    }
    return { ip: p.ip ?? '' };
  });
  if (raw.podIP !== undefined && raw.podIP !== '' && podIPs !== undefined && podIPs.length > 0) {
    if (podIPs[0]?.ip !== raw.podIP) issues.add('status.podIPs', 'podIPs[0] must match podIP');
  }
  return {
    ...(raw.podIP !== undefined ? { podIP: raw.podIP } : {}),
    ...(podIPs !== undefined ? { podIPs } : {}),
    ...(raw.phase !== undefined ? { phase: raw.phase } : {}),
    ...(raw.conditions !== undefined
      ? { conditions: raw.conditions.map((c) => ({ type: c.type ?? '', status: c.status ?? '' })) }
      : {}),
  };
}

export const podValidator: KindValidator<'Pod'> = {
  kind: 'Pod',
  apiVersions: ['v1'],
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: POD_SPEC, status: POD_STATUS },
  build(top, _meta, issues) {
    if (top['spec'] === undefined) issues.add('spec', 'spec is required');
    const spec = top['spec'] === undefined ? { containers: [] } : buildPodSpec(issues, top['spec'] as RawSpec, 'spec');
    const status = buildStatus(issues, top['status'] as RawStatus | undefined);
    return status === undefined ? { spec } : { spec, status };
  },
};
