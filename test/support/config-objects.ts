/**
 * Builders of typed, already-validated ConfigObjects for tests and benches:
 * small defaults, everything overridable, no YAML involved.
 */
import type {
  AnyConfigObject,
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
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: meta({ name, labels }, false),
    spec: {},
    origin: ORIGIN,
  };
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
  readonly containerPorts?: readonly {
    name?: string;
    containerPort: number;
    protocol?: 'TCP' | 'UDP' | 'SCTP';
  }[];
}

/** A running, ready pod with IP 10.0.0.1 unless told otherwise. */
export function pod(p: PodInit): ConfigObject<'Pod'> {
  const containers: Container[] = [
    {
      name: 'app',
      env: [],
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
  return {
    kind: 'ServiceEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: meta(m),
    spec,
    origin: ORIGIN,
  };
}

export function workloadEntry(m: MetaInit, spec: WorkloadEntrySpec): ConfigObject<'WorkloadEntry'> {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: meta(m),
    spec,
    origin: ORIGIN,
  };
}

export function authorizationPolicy(
  m: MetaInit,
  spec: AuthorizationPolicySpec,
): ConfigObject<'AuthorizationPolicy'> {
  return {
    kind: 'AuthorizationPolicy',
    apiVersion: 'security.istio.io/v1',
    metadata: meta(m),
    spec,
    origin: ORIGIN,
  };
}

export function peerAuthentication(
  m: MetaInit,
  spec: PeerAuthenticationSpec,
): ConfigObject<'PeerAuthentication'> {
  return {
    kind: 'PeerAuthentication',
    apiVersion: 'security.istio.io/v1',
    metadata: meta(m),
    spec,
    origin: ORIGIN,
  };
}

export interface MeshSize {
  readonly namespaces: number;
  readonly services: number;
  readonly workloads: number;
  /** Nodes the pods are spread over (default 50). */
  readonly nodes?: number;
}

/**
 * A synthetic mesh for benches and scale tests: ambient namespaces "ns<i>",
 * Services "svc<j>" selecting app=app<j> with a named target port, and
 * ReplicaSet-style pods spread round-robin over the services and nodes, each
 * with a unique IP in 10.0.0.0/8 and VIPs in 10.96.0.0/12.
 */
export function meshOfSize(size: MeshSize): AnyConfigObject[] {
  const out: AnyConfigObject[] = [];
  const nodes = size.nodes ?? 50;
  for (let n = 0; n < size.namespaces; n++)
    out.push(namespace(`ns${n}`, { 'istio.io/dataplane-mode': 'ambient' }));
  for (let s = 0; s < size.services; s++) {
    out.push(
      service({
        name: `svc${s}`,
        namespace: `ns${s % size.namespaces}`,
        selector: { app: `app${s}` },
        clusterIP: `10.${96 + ((s >> 16) & 15)}.${(s >> 8) & 255}.${s & 255}`,
        ports: [{ port: 80, targetPort: 'http', name: 'http' }],
      }),
    );
  }
  for (let i = 0; i < size.workloads; i++) out.push(meshPod(size, i, nodes));
  return out;
}

/** Pod `i` of `meshOfSize(size)`; `ready` lets a bench flip it. */
export function meshPod(
  size: MeshSize,
  i: number,
  nodes = size.nodes ?? 50,
  ready = true,
): ConfigObject<'Pod'> {
  const app = i % size.services;
  return pod({
    name: `app${app}-5d8f7c9b4-${i}`,
    namespace: `ns${app % size.namespaces}`,
    labels: { app: `app${app}`, 'pod-template-hash': '5d8f7c9b4', version: 'v1' },
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    node: `node${i % nodes}`,
    serviceAccount: `sa${app}`,
    ready,
    containerPorts: [{ name: 'http', containerPort: 8080 }],
  });
}
