/**
 * Turns the resources of one delta response into the agent's domain types,
 * checking each one whole first: protobuf becomes a readonly Workload (its
 * identity with Istio's defaults, canonical addresses, its tunnel kind), and
 * an Authorization becomes a compiled policy. A resource the agent cannot
 * use, a policy it cannot compile included, is rejected by name with a
 * reason (the NACK detail), and the others still apply.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { Resource } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import {
  AddressSchema,
  ApplicationTunnel_Protocol,
  NetworkMode,
  TunnelProtocol,
  WorkloadStatus,
  WorkloadType,
  type GatewayAddress as WireGatewayAddress,
  type NetworkAddress as WireNetworkAddress,
  type Service,
  type Workload as WireWorkload,
} from '../../gen/istio/workload/workload_pb.js';
import {
  AuthorizationSchema,
  type Address as AuthzAddress,
  type Authorization,
} from '../../gen/istio/security/authorization_pb.js';
import { errorMessage } from '../../shared/errors.js';
import { formatSpiffeId, type SpiffeId } from '../../shared/spiffe.js';
import { compilePolicy, type CompiledPolicy } from '../authz/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  ipText,
  policyKey,
  serviceKey,
  type Gateway,
  type HealthStatus,
  type NetworkAddress,
  type NetworkModeKind,
  type StoreResource,
  type TunnelKind,
  type Workload,
  type WorkloadKind,
} from '../state/index.js';
import { XdsResourceError } from './errors.js';

/** Istio's defaults for a workload that names no trust domain or service account. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface Rejection {
  readonly name: string;
  readonly reason: string;
}

/** A resource that decoded and passed the checks, with the version istiod gave it. */
export interface AcceptedResource {
  readonly name: string;
  readonly version: string;
  readonly resource: StoreResource;
}

export interface DecodedResponse {
  readonly accepted: readonly AcceptedResource[];
  readonly rejected: readonly Rejection[];
}

/** The type URLs the agent subscribes to, in the order it subscribes. */
export const WATCHED_TYPE_URLS: readonly string[] = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL];

function invalid(reason: string): XdsResourceError {
  return new XdsResourceError('XDS_RESOURCE_INVALID', reason);
}

function checkIp(bytes: Uint8Array, field: string): string {
  const text = bytes.length === 4 || bytes.length === 16 ? ipText(bytes) : undefined;
  if (text === undefined) throw invalid(`${field} is ${bytes.length} bytes, not an IPv4 (4) or IPv6 (16) address`);
  return text;
}

function checkNetworkAddress(a: WireNetworkAddress | undefined, field: string): void {
  if (a === undefined) return;
  checkIp(a.address, `${field}.address`);
  if (a.length !== undefined && a.length > a.address.length * 8) {
    throw invalid(`${field}.length ${a.length} is longer than the address`);
  }
}

function networkAddress(a: WireNetworkAddress, field: string): NetworkAddress {
  checkNetworkAddress(a, field);
  return { network: a.network, ip: checkIp(a.address, `${field}.address`), length: a.length };
}

function gateway(g: WireGatewayAddress | undefined, field: string): Gateway | undefined {
  if (g === undefined) return undefined;
  const d = g.destination;
  if (d.case === 'address') {
    return { destination: { kind: 'address', address: networkAddress(d.value, `${field}.address`) }, hboneMtlsPort: g.hboneMtlsPort };
  }
  if (d.case === 'hostname') {
    return { destination: { kind: 'hostname', namespace: d.value.namespace, hostname: d.value.hostname }, hboneMtlsPort: g.hboneMtlsPort };
  }
  return { destination: { kind: 'none' }, hboneMtlsPort: g.hboneMtlsPort };
}

/** An enum value the agent knows, or the resource is rejected (an agent older than istiod must not guess). */
function known<E extends number, T>(table: Readonly<Record<number, T>>, value: E, field: string): T {
  const t = table[value];
  if (t === undefined) throw invalid(`${field} ${value} is not a known value`);
  return t;
}

const TUNNELS: Readonly<Record<number, TunnelKind>> = {
  [TunnelProtocol.NONE]: 'none',
  [TunnelProtocol.HBONE]: 'hbone',
  [TunnelProtocol.LEGACY_ISTIO_MTLS]: 'legacy-istio-mtls',
};
const NETWORK_MODES: Readonly<Record<number, NetworkModeKind>> = {
  [NetworkMode.STANDARD]: 'standard',
  [NetworkMode.HOST_NETWORK]: 'host-network',
};
const WORKLOAD_TYPES: Readonly<Record<number, WorkloadKind>> = {
  [WorkloadType.DEPLOYMENT]: 'deployment',
  [WorkloadType.CRONJOB]: 'cronjob',
  [WorkloadType.POD]: 'pod',
  [WorkloadType.JOB]: 'job',
};
const STATUSES: Readonly<Record<number, HealthStatus>> = {
  [WorkloadStatus.HEALTHY]: 'healthy',
  [WorkloadStatus.UNHEALTHY]: 'unhealthy',
};

/** The identity a workload runs as: the one place Istio's defaults for empty fields are applied. */
export function workloadSpiffeId(w: Pick<WireWorkload, 'trustDomain' | 'namespace' | 'serviceAccount'>): SpiffeId {
  return {
    trustDomain: w.trustDomain || DEFAULT_TRUST_DOMAIN,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount || DEFAULT_SERVICE_ACCOUNT,
  };
}

/**
 * An `istio.workload.Workload` as the agent holds it. Throws XdsResourceError
 * (XDS_RESOURCE_INVALID) for one it cannot use. `name` is the xDS resource
 * name, which must be the uid; absent, the uid is not compared.
 */
export function decodeWorkload(w: WireWorkload, name?: string): Workload {
  if (w.uid === '') throw invalid('workload has no uid');
  if (name !== undefined && w.uid !== name) throw invalid(`workload uid "${w.uid}" is not the resource name`);
  const addresses = w.addresses.map((a, i) => checkIp(a, `addresses[${i}]`));
  const services: Record<string, readonly { servicePort: number; targetPort: number }[]> = {};
  for (const [key, list] of Object.entries(w.services)) {
    if (!key.includes('/')) throw invalid(`services key "${key}" is not <namespace>/<hostname>`);
    services[key] = list.ports.map((p) => ({ servicePort: p.servicePort, targetPort: p.targetPort }));
  }
  const identity = workloadSpiffeId(w);
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    identity,
    identityUri: formatSpiffeId(identity),
    addresses,
    network: w.network,
    tunnel: known(TUNNELS, w.tunnelProtocol, 'tunnelProtocol'),
    networkMode: known(NETWORK_MODES, w.networkMode, 'networkMode'),
    hostname: w.hostname,
    waypoint: gateway(w.waypoint, 'waypoint'),
    networkGateway: gateway(w.networkGateway, 'networkGateway'),
    node: w.node,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    workloadType: known(WORKLOAD_TYPES, w.workloadType, 'workloadType'),
    workloadName: w.workloadName,
    nativeTunnel: w.nativeTunnel,
    applicationTunnel:
      w.applicationTunnel === undefined
        ? undefined
        : {
            protocol: w.applicationTunnel.protocol === ApplicationTunnel_Protocol.PROXY ? 'proxy' : 'none',
            port: w.applicationTunnel.port,
          },
    services,
    authorizationPolicies: [...w.authorizationPolicies],
    status: known(STATUSES, w.status, 'status'),
    clusterId: w.clusterId,
    locality:
      w.locality === undefined ? undefined : { region: w.locality.region, zone: w.locality.zone, subzone: w.locality.subzone },
    capacity: w.capacity ?? 1,
  };
}

function checkService(s: Service, name: string): void {
  if (s.hostname === '') throw invalid('service has no hostname');
  if (s.namespace === '') throw invalid('service has no namespace');
  if (serviceKey(s) !== name) throw invalid(`service "${serviceKey(s)}" is not the resource name`);
  s.addresses.forEach((a, i) => checkNetworkAddress(a, `addresses[${i}]`));
}

function checkCidrs(list: readonly AuthzAddress[], field: string): void {
  list.forEach((a, i) => {
    checkIp(a.address, `${field}[${i}].address`);
    if (a.length > a.address.length * 8) throw invalid(`${field}[${i}].length ${a.length} is longer than the address`);
  });
}

/**
 * An `istio.security.Authorization`, checked and compiled to its matchers.
 * Throws XdsResourceError (XDS_RESOURCE_INVALID) when it is malformed or
 * cannot be compiled (an unknown scope or action), naming why.
 */
export function decodePolicy(p: Authorization, name?: string): CompiledPolicy {
  if (p.name === '' || p.namespace === '') throw invalid('policy has no name or namespace');
  if (name !== undefined && policyKey(p) !== name) throw invalid(`policy "${policyKey(p)}" is not the resource name`);
  p.groups.forEach((g, gi) =>
    g.rules.forEach((r, ri) =>
      r.matches.forEach((m, mi) => {
        const at = `groups[${gi}].rules[${ri}].matches[${mi}]`;
        checkCidrs(m.sourceIps, `${at}.sourceIps`);
        checkCidrs(m.notSourceIps, `${at}.notSourceIps`);
        checkCidrs(m.destinationIps, `${at}.destinationIps`);
        checkCidrs(m.notDestinationIps, `${at}.notDestinationIps`);
      }),
    ),
  );
  try {
    return compilePolicy(p);
  } catch (err) {
    throw new XdsResourceError('XDS_RESOURCE_INVALID', `cannot compile: ${errorMessage(err)}`, { cause: err });
  }
}

function decodeOne(typeUrl: string, r: Resource): StoreResource {
  if (r.name === '') throw invalid('resource has no name');
  const any = r.resource;
  if (any === undefined) throw invalid('resource has no body');
  if (any.typeUrl !== typeUrl) throw invalid(`resource carries ${any.typeUrl || 'no type'}, not ${typeUrl}`);
  if (typeUrl === ADDRESS_TYPE_URL) {
    let address;
    try {
      address = fromBinary(AddressSchema, any.value);
    } catch (err) {
      throw invalid(`cannot decode istio.workload.Address: ${errorMessage(err)}`);
    }
    if (address.type.case === 'workload') return { kind: 'workload', workload: decodeWorkload(address.type.value, r.name) };
    if (address.type.case === 'service') {
      checkService(address.type.value, r.name);
      return { kind: 'service', service: address.type.value };
    }
    throw invalid('address is neither a workload nor a service');
  }
  let policy;
  try {
    policy = fromBinary(AuthorizationSchema, any.value);
  } catch (err) {
    throw invalid(`cannot decode istio.security.Authorization: ${errorMessage(err)}`);
  }
  return { kind: 'policy', policy: decodePolicy(policy, r.name) };
}

/**
 * Decodes and checks every resource of a response of a watched type. A
 * name sent twice keeps its last occurrence (as a map write would). Any
 * failure of one resource, even an unexpected one, rejects that resource
 * only: it must never take the valid resources of the push (a DENY among
 * them) down with it.
 */
export function decodeResources(typeUrl: string, resources: readonly Resource[]): DecodedResponse {
  const accepted = new Map<string, AcceptedResource>();
  const rejected = new Map<string, Rejection>();
  for (const r of resources) {
    try {
      const resource = decodeOne(typeUrl, r);
      rejected.delete(r.name);
      accepted.set(r.name, { name: r.name, version: r.version, resource });
    } catch (err) {
      accepted.delete(r.name);
      rejected.set(r.name, { name: r.name || '<unnamed>', reason: errorMessage(err) });
    }
  }
  return { accepted: [...accepted.values()], rejected: [...rejected.values()] };
}

/** The NACK detail ztunnel sends: `"<name>: <reason>; <name>: <reason>"`. */
export function nackMessage(rejected: readonly Rejection[]): string {
  return rejected.map((r) => `${r.name}: ${r.reason}`).join('; ');
}
