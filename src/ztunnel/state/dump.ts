/**
 * The store's section of `/config_dump`, shaped like ztunnel's (camelCase
 * keys, addresses as text, enums by name, sorted) so `ztunnel-config` style
 * tooling can read it and tests can compare it.
 */
import {
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  LoadBalancing_Scope,
  Service_Visibility,
  IPFamilies,
  type GatewayAddress,
  type NetworkAddress as WireNetworkAddress,
  type Port,
  type Service,
} from '../../gen/istio/workload/workload_pb.js';
import type { Address as AuthzAddress, Match, StringMatch } from '../../gen/istio/security/authorization_pb.js';
import type { CompiledPolicy } from '../authz/index.js';
import { ipText } from './address.js';
import type { WorkloadStore } from './store.js';
import type {
  Gateway,
  HealthStatus,
  NetworkAddress,
  NetworkModeKind,
  PortMapping,
  TunnelKind,
  Workload,
  WorkloadKind,
} from './workload.js';

export interface StoreDump {
  readonly workloads: readonly Record<string, unknown>[];
  readonly services: readonly Record<string, unknown>[];
  readonly policies: readonly Record<string, unknown>[];
  readonly stagedServices: readonly string[];
}

function addressText(a: Uint8Array): string {
  return ipText(a) ?? `<${a.length} bytes>`;
}

function networkAddressText(a: WireNetworkAddress): string {
  const ip = `${a.network}/${addressText(a.address)}`;
  return a.length === undefined ? ip : `${ip}/${a.length}`;
}

function addressOnNetwork(a: NetworkAddress): string {
  const ip = `${a.network}/${a.ip}`;
  return a.length === undefined ? ip : `${ip}/${a.length}`;
}

function workloadGateway(g: Gateway | undefined): Record<string, unknown> | undefined {
  if (g === undefined) return undefined;
  const d = g.destination;
  const destination =
    d.kind === 'address'
      ? addressOnNetwork(d.address)
      : d.kind === 'hostname'
        ? { namespace: d.namespace, hostname: d.hostname }
        : null;
  return { destination, hboneMtlsPort: g.hboneMtlsPort };
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

function portMap(ports: readonly (Port | PortMapping)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of [...ports].sort((a, b) => a.servicePort - b.servicePort)) out[String(p.servicePort)] = p.targetPort;
  return out;
}

function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

const PROTOCOL: Record<TunnelKind, string> = { none: 'TCP', hbone: 'HBONE', 'legacy-istio-mtls': 'LegacyIstioMtls' };
const NETWORK_MODE: Record<NetworkModeKind, string> = { standard: 'Standard', 'host-network': 'HostNetwork' };
const WORKLOAD_TYPE: Record<WorkloadKind, string> = { deployment: 'deployment', cronjob: 'cronjob', pod: 'pod', job: 'job' };
const STATUS: Record<HealthStatus, string> = { healthy: 'Healthy', unhealthy: 'Unhealthy' };
const SCOPE: Record<CompiledPolicy['scope'], string> = {
  global: 'Global',
  namespace: 'Namespace',
  'workload-selector': 'WorkloadSelector',
};
const ACTION: Record<CompiledPolicy['action'], string> = { allow: 'Allow', deny: 'Deny' };

/** One workload as ztunnel's config_dump shows it. */
export function dumpWorkload(w: Workload): Record<string, unknown> {
  return {
    uid: w.uid,
    workloadIps: [...w.addresses],
    waypoint: workloadGateway(w.waypoint),
    networkGateway: workloadGateway(w.networkGateway),
    protocol: PROTOCOL[w.tunnel],
    networkMode: NETWORK_MODE[w.networkMode],
    name: w.name,
    namespace: w.namespace,
    trustDomain: w.identity.trustDomain,
    serviceAccount: w.identity.serviceAccount,
    network: w.network,
    workloadName: w.workloadName,
    workloadType: WORKLOAD_TYPE[w.workloadType],
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    hostname: w.hostname,
    node: w.node,
    nativeTunnel: w.nativeTunnel,
    applicationTunnel:
      w.applicationTunnel === undefined
        ? undefined
        : {
            protocol: w.applicationTunnel.protocol === 'proxy' ? 'PROXY' : 'NONE',
            port: w.applicationTunnel.port || undefined,
          },
    authorizationPolicies: [...w.authorizationPolicies],
    status: STATUS[w.status],
    clusterId: w.clusterId,
    locality: w.locality === undefined ? undefined : { ...w.locality },
    services: sortedRecord(Object.entries(w.services).map(([k, ports]) => [k, portMap(ports)])),
    capacity: w.capacity,
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
export function dumpPolicy(p: CompiledPolicy): Record<string, unknown> {
  return {
    name: p.name,
    namespace: p.namespace,
    scope: SCOPE[p.scope],
    action: ACTION[p.action],
    dryRun: p.dryRun,
    rules: p.source.groups.map((g) => g.rules.map((r) => r.matches.map(dumpMatch))),
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
