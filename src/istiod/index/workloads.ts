/**
 * Pods, WorkloadEntries and ServiceEntry endpoints to istio.workload.Workload.
 * The builders are pure: the index hands them the object, the services that
 * select it and the policy keys that apply, and compares the encoded result
 * with what it served before.
 */
import { create } from '@bufbuild/protobuf';
import {
  LocalitySchema,
  NetworkMode,
  PortListSchema,
  PortSchema,
  WorkloadSchema,
  WorkloadStatus,
  WorkloadType,
  type Port,
  type PortList,
  type Workload,
} from '../../gen/istio/workload/workload_pb.js';
import type { ConfigObject, WorkloadEntrySpec } from '../config/types.js';
import { parseIpExact } from '../../shared/net/index.js';
import {
  canonicalService,
  podEnrolled,
  podWorkloadOwner,
  tunnelFor,
  WORKLOAD_NAME_LABEL,
  type Labels,
} from './labels.js';
import type { ServiceInfo } from './services.js';

export interface BuildContext {
  readonly clusterId: string;
  readonly network: string;
  /** Empty when the trust domain is the default cluster.local (Istio leaves it unset). */
  readonly trustDomainField: string;
}

export function podUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

export function workloadEntryUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}/networking.istio.io/WorkloadEntry/${namespace}/${name}`;
}

export function serviceEntryEndpointUid(
  clusterId: string,
  namespace: string,
  name: string,
  address: string,
): string {
  return `${clusterId}/networking.istio.io/ServiceEntry/${namespace}/${name}/${address}`;
}

/** A pod that has finished will not run again and gets no workload. */
function isTerminal(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

function findContainerPort(pod: ConfigObject<'Pod'>, name: string): number | undefined {
  for (const c of pod.spec.containers) {
    for (const p of c.ports) {
      if (p.name === name && p.protocol === 'TCP') return p.containerPort;
    }
  }
  return undefined;
}

function sortedServices(entries: [string, PortList][]): Record<string, PortList> {
  // Map order is part of the encoding: sort so equal content encodes to equal bytes.
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(entries);
}

/** Ports per selecting service, resolving named target ports against the pod's TCP container ports. */
export function podServicePorts(
  pod: ConfigObject<'Pod'>,
  services: readonly ServiceInfo[],
): Record<string, PortList> {
  const entries: [string, PortList][] = [];
  for (const svc of services) {
    const ports: Port[] = [];
    for (const port of svc.service.ports) {
      let targetPort = port.targetPort;
      const named = svc.portNames.get(port.servicePort);
      if (named !== undefined && named.targetPortName !== '') {
        const found = findContainerPort(pod, named.targetPortName);
        // The pod does not expose the named port: it is no endpoint for it.
        if (found === undefined) continue;
        targetPort = found;
      } else if (named !== undefined && svc.sourceKind === 'ServiceEntry' && named.portName !== '') {
        // ServiceEntry ports match container ports by name.
        const found = findContainerPort(pod, named.portName);
        if (found !== undefined) targetPort = found;
        else if (targetPort === 0) targetPort = port.servicePort;
      }
      ports.push(create(PortSchema, { servicePort: port.servicePort, targetPort }));
    }
    entries.push([svc.key, create(PortListSchema, { ports })]);
  }
  return sortedServices(entries);
}

/** Ports per selecting service for a WorkloadEntry (or inline endpoint), using its named `ports` map. */
export function entryServicePorts(
  entry: WorkloadEntrySpec,
  services: readonly ServiceInfo[],
): Record<string, PortList> {
  const named = entry.ports ?? {};
  const entries: [string, PortList][] = [];
  for (const svc of services) {
    const ports: Port[] = [];
    for (const port of svc.service.ports) {
      let targetPort = port.targetPort;
      const pn = svc.portNames.get(port.servicePort);
      if (svc.sourceKind === 'Service') {
        if (pn !== undefined && pn.targetPortName !== '') {
          const v = named[pn.targetPortName];
          if (v === undefined) continue;
          targetPort = v;
        } else if (pn !== undefined && named[pn.portName] !== undefined) {
          targetPort = named[pn.portName] ?? targetPort;
        }
      } else if (pn !== undefined) {
        const v = named[pn.portName];
        if (v !== undefined) targetPort = v;
        else if (targetPort === 0) targetPort = port.servicePort;
      }
      ports.push(create(PortSchema, { servicePort: port.servicePort, targetPort }));
    }
    entries.push([svc.key, create(PortListSchema, { ports })]);
  }
  return sortedServices(entries);
}

/** Pod IPs as raw bytes (status.podIPs, else status.podIP); undefined when any does not parse. */
export function podAddresses(pod: ConfigObject<'Pod'>): Uint8Array[] | undefined {
  const status = pod.status;
  const ips =
    status?.podIPs !== undefined && status.podIPs.length > 0
      ? status.podIPs.map((p) => p.ip)
      : status?.podIP !== undefined && status.podIP !== ''
        ? [status.podIP]
        : [];
  const out: Uint8Array[] = [];
  for (const ip of ips) {
    const b = parseIpExact(ip);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}

/** A pod's workload, or undefined when it has no usable IP or has terminated. */
export function buildPodWorkload(
  ctx: BuildContext,
  pod: ConfigObject<'Pod'>,
  namespaceLabels: Labels | undefined,
  services: readonly ServiceInfo[],
  authorizationPolicies: readonly string[],
): Workload | undefined {
  if (isTerminal(pod.status?.phase)) return undefined;
  const addresses = podAddresses(pod);
  if (addresses === undefined || addresses.length === 0) return undefined;
  const { name, namespace, labels, annotations } = pod.metadata;
  const hostNetwork = pod.spec.hostNetwork === true;
  const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const owner = podWorkloadOwner(name, labels);
  const canonical = canonicalService(labels, owner.name);
  return create(WorkloadSchema, {
    uid: podUid(ctx.clusterId, namespace, name),
    name,
    namespace,
    addresses,
    network: ctx.network,
    ...tunnelFor(labels, annotations, podEnrolled(labels, annotations, namespaceLabels, hostNetwork)),
    trustDomain: ctx.trustDomainField,
    // The API server defaults serviceAccountName to "default".
    serviceAccount: pod.spec.serviceAccountName ?? 'default',
    node: pod.spec.nodeName ?? '',
    canonicalName: canonical.name,
    canonicalRevision: canonical.revision,
    workloadType: owner.type,
    workloadName: owner.name,
    services: podServicePorts(pod, services),
    authorizationPolicies: [...authorizationPolicies],
    status: ready ? WorkloadStatus.HEALTHY : WorkloadStatus.UNHEALTHY,
    clusterId: ctx.clusterId,
    networkMode: hostNetwork ? NetworkMode.HOST_NETWORK : NetworkMode.STANDARD,
  });
}

/** WorkloadEntry labels live in spec and metadata; both select, metadata winning a conflict (as Istio merges them). */
export function workloadEntryLabels(we: ConfigObject<'WorkloadEntry'>): Labels {
  return { ...(we.spec.labels ?? {}), ...we.metadata.labels };
}

/** The auto-registration group, the workload-name label, or the entry's own name. */
function workloadEntryName(we: ConfigObject<'WorkloadEntry'>, labels: Labels): string {
  return (
    we.metadata.annotations['istio.io/autoRegistrationGroup'] ??
    labels[WORKLOAD_NAME_LABEL] ??
    we.metadata.name
  );
}

function locality(text: string | undefined): Workload['locality'] {
  if (text === undefined || text === '') return undefined;
  const [region = '', zone = '', subzone = ''] = text.split('/');
  if (region === '' && zone === '' && subzone === '') return undefined;
  return create(LocalitySchema, { region, zone, subzone });
}

function entryWorkload(
  ctx: BuildContext,
  fields: {
    uid: string;
    name: string;
    namespace: string;
    entry: WorkloadEntrySpec;
    workloadName: string;
    labels: Labels;
    annotations: Labels;
  },
  services: readonly ServiceInfo[],
  authorizationPolicies: readonly string[],
): Workload {
  const { entry } = fields;
  const address = entry.address ?? '';
  const bytes = parseIpExact(address);
  const canonical = canonicalService(fields.labels, fields.workloadName);
  return create(WorkloadSchema, {
    uid: fields.uid,
    name: fields.name,
    namespace: fields.namespace,
    ...(bytes === undefined ? { hostname: address } : { addresses: [bytes] }),
    network: entry.network !== undefined && entry.network !== '' ? entry.network : ctx.network,
    ...tunnelFor(fields.labels, fields.annotations, false),
    trustDomain: ctx.trustDomainField,
    serviceAccount: entry.serviceAccount ?? '',
    canonicalName: canonical.name,
    canonicalRevision: canonical.revision,
    // Istio reports VM and inline endpoints as pods.
    workloadType: WorkloadType.POD,
    workloadName: fields.workloadName,
    services: entryServicePorts(entry, services),
    authorizationPolicies: [...authorizationPolicies],
    status: WorkloadStatus.HEALTHY,
    clusterId: ctx.clusterId,
    locality: locality(entry.locality),
    ...(entry.weight !== undefined && entry.weight > 0 ? { capacity: entry.weight } : {}),
  });
}

export function buildWorkloadEntryWorkload(
  ctx: BuildContext,
  we: ConfigObject<'WorkloadEntry'>,
  services: readonly ServiceInfo[],
  authorizationPolicies: readonly string[],
): Workload {
  const { name, namespace, annotations } = we.metadata;
  const labels = workloadEntryLabels(we);
  return entryWorkload(
    ctx,
    {
      uid: workloadEntryUid(ctx.clusterId, namespace, name),
      name,
      namespace,
      entry: we.spec,
      workloadName: workloadEntryName(we, labels),
      labels,
      annotations,
    },
    services,
    authorizationPolicies,
  );
}

/**
 * The workloads of a ServiceEntry's inline endpoints. A DNS ServiceEntry
 * without endpoints or selector gets one workload per host, addressed by the
 * hostname. `ownServices` are the ServiceEntry's hosts that won their name.
 */
export function buildServiceEntryWorkloads(
  ctx: BuildContext,
  se: ConfigObject<'ServiceEntry'>,
  ownServices: readonly ServiceInfo[],
  authorizationPolicies: readonly string[],
): Workload[] {
  const spec = se.spec;
  const endpoints = spec.endpoints ?? [];
  const resolution = spec.resolution ?? 'NONE';
  const implicit =
    endpoints.length === 0 &&
    (resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') &&
    spec.workloadSelector === undefined;
  if ((endpoints.length === 0 && !implicit) || ownServices.length === 0) return [];
  const { name, namespace, labels, annotations } = se.metadata;
  const list: { entry: WorkloadEntrySpec; services: readonly ServiceInfo[] }[] = implicit
    ? ownServices.map((s) => ({ entry: { address: s.hostname }, services: [s] }))
    : endpoints.map((entry) => ({ entry, services: ownServices }));
  return list.map(({ entry, services }) =>
    entryWorkload(
      ctx,
      {
        uid: serviceEntryEndpointUid(ctx.clusterId, namespace, name, entry.address ?? ''),
        name,
        namespace,
        entry,
        workloadName: name,
        labels,
        annotations,
      },
      services,
      authorizationPolicies,
    ),
  );
}
