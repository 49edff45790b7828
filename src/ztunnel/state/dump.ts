/**
 * The store's section of `/config_dump`, shaped like ztunnel's (camelCase
 * keys, addresses as text, enums by name, sorted) so `ztunnel-config` style
 * tooling can read it and tests can compare it.
 */
import {
  ApplicationTunnel_Protocol,
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  LoadBalancing_Scope,
  NetworkMode,
  Service_Visibility,
  TunnelProtocol,
  WorkloadStatus,
  WorkloadType,
  IPFamilies,
  type GatewayAddress,
  type NetworkAddress,
  type Port,
  type Service,
  type Workload,
} from '../../gen/istio/workload/workload_pb.js';
import {
  Action,
  Scope,
  type Address as AuthzAddress,
  type Authorization,
  type Match,
  type StringMatch,
} from '../../gen/istio/security/authorization_pb.js';
import { ipText } from './address.js';
import type { WorkloadStore } from './store.js';

/** Istio's defaults for fields a workload leaves empty. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface StoreDump {
  readonly workloads: readonly Record<string, unknown>[];
  readonly services: readonly Record<string, unknown>[];
  readonly policies: readonly Record<string, unknown>[];
  readonly stagedServices: readonly string[];
}

function addressText(a: Uint8Array): string {
  return ipText(a) ?? `<${a.length} bytes>`;
}

function networkAddressText(a: NetworkAddress): string {
  const ip = `${a.network}/${addressText(a.address)}`;
  return a.length === undefined ? ip : `${ip}/${a.length}`;
}

function gateway(g: GatewayAddress | undefined): Record<string, unknown> | undefined {
  if (g === undefined) return undefined;
  const d = g.destination;
  const destination =
    d.case === 'address'
      ? networkAddressText(d.value)
      : d.case === 'hostname'
        ? { namespace: d.value.namespace, hostname: d.value.hostname }
        : null;
  return { destination, hboneMtlsPort: g.hboneMtlsPort };
}

function portMap(ports: readonly Port[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of [...ports].sort((a, b) => a.servicePort - b.servicePort)) out[String(p.servicePort)] = p.targetPort;
  return out;
}

function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

const PROTOCOL: Record<TunnelProtocol, string> = {
  [TunnelProtocol.NONE]: 'TCP',
  [TunnelProtocol.HBONE]: 'HBONE',
  [TunnelProtocol.LEGACY_ISTIO_MTLS]: 'LegacyIstioMtls',
};
const NETWORK_MODE: Record<NetworkMode, string> = {
  [NetworkMode.STANDARD]: 'Standard',
  [NetworkMode.HOST_NETWORK]: 'HostNetwork',
};
const WORKLOAD_TYPE: Record<WorkloadType, string> = {
  [WorkloadType.DEPLOYMENT]: 'deployment',
  [WorkloadType.CRONJOB]: 'cronjob',
  [WorkloadType.POD]: 'pod',
  [WorkloadType.JOB]: 'job',
};
const STATUS: Record<WorkloadStatus, string> = {
  [WorkloadStatus.HEALTHY]: 'Healthy',
  [WorkloadStatus.UNHEALTHY]: 'Unhealthy',
};
const SCOPE: Record<Scope, string> = {
  [Scope.GLOBAL]: 'Global',
  [Scope.NAMESPACE]: 'Namespace',
  [Scope.WORKLOAD_SELECTOR]: 'WorkloadSelector',
};
const ACTION: Record<Action, string> = { [Action.ALLOW]: 'Allow', [Action.DENY]: 'Deny' };

function enumName<E extends number>(table: Record<E, string>, v: E): string {
  return table[v] ?? `Unknown(${v})`;
}

/** One workload as ztunnel's config_dump shows it. */
export function dumpWorkload(w: Workload): Record<string, unknown> {
  return {
    uid: w.uid,
    workloadIps: w.addresses.map(addressText),
    waypoint: gateway(w.waypoint),
    networkGateway: gateway(w.networkGateway),
    protocol: enumName(PROTOCOL, w.tunnelProtocol),
    networkMode: enumName(NETWORK_MODE, w.networkMode),
    name: w.name,
    namespace: w.namespace,
    trustDomain: w.trustDomain || DEFAULT_TRUST_DOMAIN,
    serviceAccount: w.serviceAccount || DEFAULT_SERVICE_ACCOUNT,
    network: w.network,
    workloadName: w.workloadName,
    workloadType: enumName(WORKLOAD_TYPE, w.workloadType),
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    hostname: w.hostname,
    node: w.node,
    nativeTunnel: w.nativeTunnel,
    applicationTunnel:
      w.applicationTunnel === undefined
        ? undefined
        : {
            protocol: w.applicationTunnel.protocol === ApplicationTunnel_Protocol.PROXY ? 'PROXY' : 'NONE',
            port: w.applicationTunnel.port || undefined,
          },
    authorizationPolicies: [...w.authorizationPolicies],
    status: enumName(STATUS, w.status),
    clusterId: w.clusterId,
    locality:
      w.locality === undefined
        ? undefined
        : { region: w.locality.region, zone: w.locality.zone, subzone: w.locality.subzone },
    services: sortedRecord(Object.entries(w.services).map(([k, v]) => [k, portMap(v.ports)])),
    capacity: w.capacity ?? 1,
  };
}

/** One service, with the endpoints the store derived for it. */
export function dumpService(s: Service, store: WorkloadStore): Record<string, unknown> {
  const key = `${s.namespace}/${s.hostname}`;
  const hostVips = s.addresses.filter((a) => a.length === undefined || a.length === a.address.length * 8);
  const cidrVips = s.addresses.filter((a) => !hostVips.includes(a));
  const lb = s.loadBalancing;
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    vips: hostVips.map((a) => `${a.network}/${addressText(a.address)}`),
    cidrVips: cidrVips.map(networkAddressText),
    ports: portMap(s.ports),
    endpoints: sortedRecord(
      store.findEndpoints(key).map((e) => [
        e.workload.uid,
        { workloadUid: e.workload.uid, service: key, port: portMap(e.ports) },
      ]),
    ),
    subjectAltNames: [...s.subjectAltNames],
    waypoint: gateway(s.waypoint),
    weightedWaypoints: s.weightedWaypoints.map((w) => ({ destination: gateway(w.destination), weight: w.weight })),
    loadBalancer:
      lb === undefined
        ? undefined
        : {
            mode: LoadBalancing_Mode[lb.mode] ?? String(lb.mode),
            routingPreferences: lb.routingPreference.map((p) => LoadBalancing_Scope[p] ?? String(p)),
            healthPolicy: LoadBalancing_HealthPolicy[lb.healthPolicy] ?? String(lb.healthPolicy),
          },
    ipFamilies: IPFamilies[s.ipFamilies] ?? String(s.ipFamilies),
    canonical: s.canonical,
    visibility: Service_Visibility[s.visibility] ?? String(s.visibility),
  };
}

function stringMatch(m: StringMatch): Record<string, string | boolean> {
  const t = m.matchType;
  if (t.case === 'presence') return { presence: true };
  if (t.case === undefined) return {};
  return { [t.case]: t.value };
}

function cidr(a: AuthzAddress): string {
  return `${addressText(a.address)}/${a.length}`;
}

function dumpMatch(m: Match): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, values: readonly unknown[]): void => {
    if (values.length > 0) out[key] = values;
  };
  put('namespaces', m.namespaces.map(stringMatch));
  put('notNamespaces', m.notNamespaces.map(stringMatch));
  put('serviceAccounts', m.serviceAccounts.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount })));
  put(
    'notServiceAccounts',
    m.notServiceAccounts.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount })),
  );
  put('principals', m.principals.map(stringMatch));
  put('notPrincipals', m.notPrincipals.map(stringMatch));
  put('sourceIps', m.sourceIps.map(cidr));
  put('notSourceIps', m.notSourceIps.map(cidr));
  put('destinationIps', m.destinationIps.map(cidr));
  put('notDestinationIps', m.notDestinationIps.map(cidr));
  put('destinationPorts', [...m.destinationPorts]);
  put('notDestinationPorts', [...m.notDestinationPorts]);
  return out;
}

/** One policy: rules are groups (OR) of clauses (AND) of matches (OR). */
export function dumpPolicy(p: Authorization): Record<string, unknown> {
  return {
    name: p.name,
    namespace: p.namespace,
    scope: enumName(SCOPE, p.scope),
    action: enumName(ACTION, p.action),
    dryRun: p.dryRun,
    rules: p.groups.map((g) => g.rules.map((r) => r.matches.map(dumpMatch))),
  };
}

/** The whole store, sorted by key. JSON.stringify drops the fields left undefined. */
export function dumpStore(store: WorkloadStore): StoreDump {
  const snap = store.snapshot();
  return {
    workloads: snap.workloads.map(dumpWorkload),
    services: snap.services.map((s) => dumpService(s, store)),
    policies: snap.policies.map(dumpPolicy),
    stagedServices: store.stagedServiceKeys(),
  };
}
