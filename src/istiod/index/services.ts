/**
 * Kubernetes Services and ServiceEntries to istio.workload.Service, plus the
 * selection data workloads need (selector, port names) that the wire message
 * does not carry.
 */
import { create } from '@bufbuild/protobuf';
import {
  AppProtocol,
  IPFamilies,
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  LoadBalancingSchema,
  NetworkAddressSchema,
  PortSchema,
  ServiceSchema,
  type NetworkAddress,
  type Service,
} from '../../gen/istio/workload/workload_pb.js';
import type { ConfigObject, ServicePort } from '../config/types.js';
import { maskCidr, parseIpExact, parsePrefix } from '../../shared/net/index.js';
import { nonEmpty, type Labels } from './labels.js';

export interface PortName {
  readonly portName: string;
  /** Set when a Service's targetPort is a container port name. */
  readonly targetPortName: string;
}

/** One service as the index keeps it: the message and what selection needs. */
export interface ServiceInfo {
  /** "<ns>/<hostname>": the xDS name. */
  readonly key: string;
  /** The config key of the object it came from. */
  readonly source: string;
  readonly sourceKind: 'Service' | 'ServiceEntry';
  readonly namespace: string;
  readonly hostname: string;
  /** Non-empty label selector, or undefined (selects nothing). */
  readonly selector: Labels | undefined;
  readonly portNames: ReadonlyMap<number, PortName>;
  /** The message before `canonical` is decided among services sharing the hostname. */
  readonly service: Service;
  /** creationTimestamp in ms since the epoch; 0 when absent (treated as oldest, as Kubernetes' zero time). */
  readonly createdMs: number;
  /** Changes whenever anything a workload derives from this service changes. */
  readonly selectionFingerprint: string;
}

export function createdMs(ts: string | undefined): number {
  if (ts === undefined) return 0;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Istio's protocol from a Kubernetes port: UDP, then appProtocol or the port-name prefix, TCP for well-known ports. */
export function appProtocolForKubePort(p: ServicePort): AppProtocol {
  if (p.protocol === 'UDP') return AppProtocol.UNKNOWN;
  let name = p.appProtocol ?? p.name ?? '';
  if (name.toLowerCase().startsWith('grpc-web')) return AppProtocol.UNKNOWN;
  if (name === 'kubernetes.io/h2c') return AppProtocol.HTTP2;
  if (name === 'kubernetes.io/ws' || name === 'kubernetes.io/wss') return AppProtocol.HTTP11;
  const dash = name.indexOf('-');
  if (dash >= 0) name = name.slice(0, dash);
  const parsed = appProtocolFromName(name);
  if (parsed === undefined) return WELL_KNOWN_TCP_PORTS.has(p.port) ? AppProtocol.TCP : AppProtocol.UNKNOWN;
  return parsed;
}

/** SMTP, DNS, MySQL, MongoDB: never sniffed, so TCP when unnamed. */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

/** Istio protocol names as the workload API's AppProtocol; undefined when the name is not a protocol. */
export function appProtocolFromName(name: string): AppProtocol | undefined {
  switch (name.toLowerCase()) {
    case 'http':
      return AppProtocol.HTTP11;
    case 'http2':
      return AppProtocol.HTTP2;
    case 'grpc':
      return AppProtocol.GRPC;
    case 'tls':
    case 'https':
      return AppProtocol.TLS;
    case 'tcp':
      return AppProtocol.TCP;
    case 'udp':
    case 'mongo':
    case 'redis':
    case 'mysql':
    case 'http_proxy':
    case 'grpc-web':
      return AppProtocol.UNKNOWN;
    default:
      return undefined;
  }
}

function fingerprint(
  selector: Labels | undefined,
  service: Service,
  portNames: ReadonlyMap<number, PortName>,
): string {
  return JSON.stringify([
    selector ?? null,
    service.ports.map((p) => [p.servicePort, p.targetPort]),
    [...portNames.entries()],
  ]);
}

/** A Kubernetes Service; ExternalName services are not served in ambient (undefined). */
export function buildKubeService(
  svc: ConfigObject<'Service'>,
  domainSuffix: string,
  network: string,
): ServiceInfo | undefined {
  const spec = svc.spec;
  if (spec.type === 'ExternalName') return undefined;
  const { name, namespace } = svc.metadata;
  const hostname = `${name}.${namespace}.svc.${domainSuffix}`;
  const portNames = new Map<number, PortName>();
  const ports = spec.ports.map((p) => {
    portNames.set(p.port, {
      portName: p.name ?? '',
      targetPortName: typeof p.targetPort === 'string' ? p.targetPort : '',
    });
    // A named targetPort is resolved per workload, so the service carries 0;
    // an absent one is defaulted to the port, as the API server does.
    const targetPort =
      typeof p.targetPort === 'number' ? p.targetPort : p.targetPort === undefined ? p.port : 0;
    return create(PortSchema, { servicePort: p.port, targetPort, appProtocol: appProtocolForKubePort(p) });
  });
  const vips = (
    spec.clusterIPs !== undefined && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? '']
  ).filter((ip) => ip !== '' && ip !== 'None');
  const addresses: NetworkAddress[] = [];
  for (const vip of vips) {
    const bytes = parseIpExact(vip);
    if (bytes === undefined) return undefined;
    addresses.push(create(NetworkAddressSchema, { network, address: bytes }));
  }
  const families = spec.ipFamilies ?? [];
  const ipFamilies =
    families.length === 2
      ? IPFamilies.DUAL
      : families.length === 1
        ? families[0] === 'IPv4'
          ? IPFamilies.IPV4_ONLY
          : IPFamilies.IPV6_ONLY
        : IPFamilies.AUTOMATIC;
  const service = create(ServiceSchema, {
    name,
    namespace,
    hostname,
    addresses,
    ports,
    ipFamilies,
    // A Kubernetes Service is always canonical for its hostname.
    canonical: true,
  });
  const selector = nonEmpty(spec.selector);
  return {
    key: `${namespace}/${hostname}`,
    source: `Service/${namespace}/${name}`,
    sourceKind: 'Service',
    namespace,
    hostname,
    selector,
    portNames,
    service,
    createdMs: createdMs(svc.metadata.creationTimestamp),
    selectionFingerprint: fingerprint(selector, service, portNames),
  };
}

/** One service per host of a ServiceEntry; none if an address does not parse. */
export function buildServiceEntryServices(se: ConfigObject<'ServiceEntry'>, network: string): ServiceInfo[] {
  const spec = se.spec;
  const { name, namespace } = se.metadata;
  const addresses: NetworkAddress[] = [];
  for (const a of spec.addresses ?? []) {
    const parsed = parsePrefix(a, parseIpExact);
    if (parsed === undefined) return [];
    const p = maskCidr(parsed);
    const host = p.bits === p.address.length * 8;
    addresses.push(
      create(NetworkAddressSchema, { network, address: p.address, ...(host ? {} : { length: p.bits }) }),
    );
  }
  const portNames = new Map<number, PortName>();
  const ports = (spec.ports ?? []).map((p) => {
    portNames.set(p.number, { portName: p.name, targetPortName: '' });
    return create(PortSchema, {
      servicePort: p.number,
      targetPort: p.targetPort !== undefined && p.targetPort !== 0 ? p.targetPort : p.number,
      appProtocol: appProtocolFromName(p.protocol ?? '') ?? AppProtocol.UNKNOWN,
    });
  });
  // resolution NONE (the default) passes traffic through to the address the client dialled.
  const resolution = spec.resolution ?? 'NONE';
  const loadBalancing =
    resolution === 'NONE'
      ? create(LoadBalancingSchema, {
          mode: LoadBalancing_Mode.PASSTHROUGH,
          healthPolicy: LoadBalancing_HealthPolicy.ALLOW_ALL,
        })
      : undefined;
  const selector = nonEmpty(spec.workloadSelector?.labels);
  return spec.hosts.map((hostname) => {
    const service = create(ServiceSchema, {
      name,
      namespace,
      hostname,
      addresses,
      ports,
      subjectAltNames: [...(spec.subjectAltNames ?? [])],
      ...(loadBalancing === undefined ? {} : { loadBalancing }),
    });
    return {
      key: `${namespace}/${hostname}`,
      source: `ServiceEntry/${namespace}/${name}`,
      sourceKind: 'ServiceEntry' as const,
      namespace,
      hostname,
      selector,
      portNames,
      service,
      createdMs: createdMs(se.metadata.creationTimestamp),
      selectionFingerprint: fingerprint(selector, service, portNames),
    };
  });
}

/**
 * Picks the service that owns "<ns>/<hostname>" among the objects declaring
 * it: a Kubernetes Service always wins, else the oldest ServiceEntry (ties by
 * config key, for a stable answer).
 */
export function pickNamespaceWinner(candidates: Iterable<ServiceInfo>): ServiceInfo | undefined {
  let best: ServiceInfo | undefined;
  for (const c of candidates) {
    if (best === undefined || better(c, best)) best = c;
  }
  return best;
}

function better(a: ServiceInfo, b: ServiceInfo): boolean {
  if (a.sourceKind !== b.sourceKind) return a.sourceKind === 'Service';
  if (a.createdMs !== b.createdMs) return a.createdMs < b.createdMs;
  return a.source < b.source;
}

/**
 * Among the per-namespace winners for one hostname, the one marked canonical:
 * Kubernetes Services always are; otherwise the oldest ServiceEntry, and only
 * when no Kubernetes Service declares the hostname.
 */
export function pickCanonical(winners: readonly ServiceInfo[]): ServiceInfo | undefined {
  if (winners.some((w) => w.sourceKind === 'Service')) return undefined;
  return pickNamespaceWinner(winners);
}
