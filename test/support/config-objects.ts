/**
 * Builders of typed, already-validated ConfigObjects for tests and benches:
 * small defaults, everything overridable, no YAML involved.
 */
import type {
  AuthorizationPolicySpec,
  ConfigObject,
  Container,
  ObjectMeta,
  PeerAuthenticationSpec,
  PodStatus,
  ServiceEntrySpec,
  ServicePort,
  ServiceSpec,
  WorkloadEntrySpec,
} from '../../src/istiod/config/types.js';

export interface MetaInit {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  /** RFC 3339. */
  readonly creationTimestamp?: string;
}

const ORIGIN = { source: 'test' } as const;

function meta(m: MetaInit, namespaced = true): ObjectMeta {
  return {
    name: m.name,
    namespace: namespaced ? (m.namespace ?? 'default') : '',
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    ...(m.creationTimestamp === undefined ? {} : { creationTimestamp: m.creationTimestamp }),
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): ConfigObject<'Namespace'> {
  return { kind: 'Namespace', apiVersion: 'v1', metadata: meta({ name, labels }, false), spec: {}, origin: ORIGIN };
}

export interface PodInit extends MetaInit {
  readonly ip?: string;
  /** Several IPs (status.podIPs); overrides `ip`. */
  readonly ips?: readonly string[];
  readonly node?: string;
  readonly serviceAccount?: string;
  readonly hostNetwork?: boolean;
  /** Default Running. */
  readonly phase?: string;
  /** Default true. */
  readonly ready?: boolean;
  readonly containerPorts?: readonly { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
}

/** A running, ready pod with IP 10.0.0.1 unless told otherwise. */
export function pod(p: PodInit): ConfigObject<'Pod'> {
  const containers: Container[] = [
    {
      name: 'app',
      ports: (p.containerPorts ?? []).map((c) => ({ ...c, protocol: c.protocol ?? 'TCP' })),
    },
  ];
  const ips = p.ips ?? (p.ip === '' ? [] : [p.ip ?? '10.0.0.1']);
  const status: PodStatus = {
    phase: p.phase ?? 'Running',
    ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    conditions: [{ type: 'Ready', status: (p.ready ?? true) ? 'True' : 'False' }],
  };
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: meta(p),
    spec: {
      containers,
      ...(p.node === undefined ? {} : { nodeName: p.node }),
      ...(p.serviceAccount === undefined ? {} : { serviceAccountName: p.serviceAccount }),
      ...(p.hostNetwork === undefined ? {} : { hostNetwork: p.hostNetwork }),
    },
    status,
    origin: ORIGIN,
  };
}

export interface ServiceInit extends MetaInit {
  readonly selector?: Record<string, string>;
  /** Default "10.96.0.1"; "None" for headless. */
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly ports?: readonly (Partial<ServicePort> & { port: number })[];
  readonly type?: ServiceSpec['type'];
  readonly ipFamilies?: ServiceSpec['ipFamilies'];
}

export function service(s: ServiceInit): ConfigObject<'Service'> {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: meta(s),
    spec: {
      type: s.type ?? 'ClusterIP',
      clusterIP: s.clusterIP ?? '10.96.0.1',
      ...(s.clusterIPs === undefined ? {} : { clusterIPs: s.clusterIPs }),
      ...(s.selector === undefined ? {} : { selector: s.selector }),
      ...(s.ipFamilies === undefined ? {} : { ipFamilies: s.ipFamilies }),
      ports: (s.ports ?? [{ port: 80 }]).map((p) => ({ protocol: 'TCP' as const, ...p })),
    },
    origin: ORIGIN,
  };
}

export function serviceEntry(m: MetaInit, spec: ServiceEntrySpec): ConfigObject<'ServiceEntry'> {
  return { kind: 'ServiceEntry', apiVersion: 'networking.istio.io/v1', metadata: meta(m), spec, origin: ORIGIN };
}

export function workloadEntry(m: MetaInit, spec: WorkloadEntrySpec): ConfigObject<'WorkloadEntry'> {
  return { kind: 'WorkloadEntry', apiVersion: 'networking.istio.io/v1', metadata: meta(m), spec, origin: ORIGIN };
}

export function authorizationPolicy(m: MetaInit, spec: AuthorizationPolicySpec): ConfigObject<'AuthorizationPolicy'> {
  return { kind: 'AuthorizationPolicy', apiVersion: 'security.istio.io/v1', metadata: meta(m), spec, origin: ORIGIN };
}

export function peerAuthentication(m: MetaInit, spec: PeerAuthenticationSpec): ConfigObject<'PeerAuthentication'> {
  return { kind: 'PeerAuthentication', apiVersion: 'security.istio.io/v1', metadata: meta(m), spec, origin: ORIGIN };
}
