/**
 * Outbound routing: a pure decision over a store snapshot. The original
 * destination is a Service VIP (pick one endpoint), a workload address
 * (that workload), or unknown (pass through as plain TCP). Mesh workloads
 * (tunnel protocol HBONE) are reached through HBONE on their 15008.
 *
 * Endpoint selection follows ztunnel: filter by the service's health policy,
 * rank by how many leading routing-preference scopes match the source (STRICT
 * drops partial matches), keep the best rank, then pick at random weighted
 * by each workload's capacity (1 when unset).
 */
import { isIP } from 'node:net';
import {
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  LoadBalancing_Scope,
  type Service,
} from '../../gen/istio/workload/workload_pb.js';
import { parseIp } from '../authz/index.js';
import { HBONE_PORT } from '../hbone/index.js';
import { serviceKey, type ServiceEndpoint, type Workload, type WorkloadStore } from '../state/index.js';

export interface SocketAddr {
  readonly ip: string;
  readonly port: number;
}

/** The service a connection was addressed to (for metrics and the forwarded header). */
export interface RoutedService {
  readonly hostname: string;
  readonly name: string;
  readonly namespace: string;
}

export type Route =
  | {
      readonly kind: 'hbone';
      readonly workload: Workload;
      /** The CONNECT target: the workload's IP and target port. */
      readonly target: SocketAddr;
      /** Where the tunnel goes: the workload's IP and 15008. */
      readonly tunnel: SocketAddr;
      /** SPIFFE URIs the peer may present (the workload's, plus the service's SANs). */
      readonly identities: readonly string[];
      readonly service: RoutedService | undefined;
    }
  | {
      /** A known workload that is not captured (tunnel NONE): plain TCP to it. */
      readonly kind: 'direct';
      readonly workload: Workload;
      readonly target: SocketAddr;
      readonly service: RoutedService | undefined;
    }
  | { readonly kind: 'passthrough'; readonly target: SocketAddr; readonly service: RoutedService | undefined }
  | { readonly kind: 'no-healthy-upstream'; readonly service: RoutedService; readonly target: SocketAddr };

/** Random source for endpoint choice; tests pass a deterministic one. */
export type Random = () => number;

function routedService(s: Service): RoutedService {
  return { hostname: s.hostname, name: s.name, namespace: s.namespace };
}

/** The workload's address in the family of the original destination (else its first). */
function addressFor(w: Workload, family: 4 | 6): string | undefined {
  return w.addresses.find((a) => (isIP(a) === 6) === (family === 6)) ?? w.addresses[0];
}

function toWorkload(w: Workload, port: number, family: 4 | 6, service: Service | undefined): Route | undefined {
  const ip = addressFor(w, family);
  if (ip === undefined) return undefined;
  const svc = service === undefined ? undefined : routedService(service);
  if (w.tunnel === 'hbone') {
    return {
      kind: 'hbone',
      workload: w,
      target: { ip, port },
      tunnel: { ip, port: HBONE_PORT },
      identities: [w.identityUri, ...(service?.subjectAltNames ?? [])],
      service: svc,
    };
  }
  return { kind: 'direct', workload: w, target: { ip, port }, service: svc };
}

/** The target port an endpoint serves a service port on (the endpoint's own mapping wins). */
function targetPort(service: Service, ep: ServiceEndpoint, servicePort: number): number | undefined {
  const own = ep.ports.find((p) => p.servicePort === servicePort);
  if (own !== undefined) return own.targetPort || servicePort;
  const declared = service.ports.find((p) => p.servicePort === servicePort);
  if (declared === undefined) return undefined;
  return declared.targetPort || servicePort;
}

function scopeMatches(scope: LoadBalancing_Scope, src: Workload, dst: Workload): boolean {
  switch (scope) {
    case LoadBalancing_Scope.REGION:
      return (src.locality?.region ?? '') === (dst.locality?.region ?? '');
    case LoadBalancing_Scope.ZONE:
      return (src.locality?.zone ?? '') === (dst.locality?.zone ?? '');
    case LoadBalancing_Scope.SUBZONE:
      return (src.locality?.subzone ?? '') === (dst.locality?.subzone ?? '');
    case LoadBalancing_Scope.NODE:
      return src.node === dst.node;
    case LoadBalancing_Scope.CLUSTER:
      return src.clusterId === dst.clusterId;
    case LoadBalancing_Scope.NETWORK:
      return src.network === dst.network;
    default:
      return true;
  }
}

/** Picks one endpoint of a service as ztunnel does; undefined when none is eligible. */
export function pickEndpoint(
  service: Service,
  endpoints: readonly ServiceEndpoint[],
  servicePort: number,
  source: Workload | undefined,
  random: Random,
): { endpoint: ServiceEndpoint; port: number } | undefined {
  const lb = service.loadBalancing;
  const allowUnhealthy = lb?.healthPolicy === LoadBalancing_HealthPolicy.ALLOW_ALL;
  let candidates = endpoints
    .filter((ep) => allowUnhealthy || ep.workload.status === 'healthy')
    .map((ep) => ({ endpoint: ep, port: targetPort(service, ep, servicePort) }))
    .filter((c): c is { endpoint: ServiceEndpoint; port: number } => c.port !== undefined);
  const prefs = lb?.routingPreference ?? [];
  if (prefs.length > 0 && source !== undefined) {
    const rank = (w: Workload): number => {
      let n = 0;
      for (const scope of prefs) {
        if (!scopeMatches(scope, source, w)) break;
        n++;
      }
      return n;
    };
    const ranked = candidates.map((c) => ({ c, rank: rank(c.endpoint.workload) }));
    const strict = lb?.mode === LoadBalancing_Mode.STRICT;
    const eligible = strict ? ranked.filter((r) => r.rank === prefs.length) : ranked;
    const best = Math.max(-1, ...eligible.map((r) => r.rank));
    candidates = eligible.filter((r) => r.rank === best).map((r) => r.c);
  }
  if (candidates.length === 0) return undefined;
  const weight = (c: { endpoint: ServiceEndpoint }): number => c.endpoint.workload.capacity;
  const total = candidates.reduce((n, c) => n + weight(c), 0);
  if (total <= 0) return candidates[Math.floor(random() * candidates.length)];
  let x = random() * total;
  for (const c of candidates) {
    x -= weight(c);
    if (x < 0) return c;
  }
  return candidates[candidates.length - 1];
}

/**
 * Where an outbound connection from `source` to `destination` goes.
 * `network` is the agent's network (the empty string by default).
 */
export function routeOutbound(
  store: WorkloadStore,
  source: Workload | undefined,
  destination: SocketAddr,
  random: Random = Math.random,
  network = '',
): Route {
  const family = isIP(destination.ip) === 6 ? 6 : 4;
  const ipBytes = parseIp(destination.ip);
  if (ipBytes === undefined) return { kind: 'passthrough', target: destination, service: undefined };

  const service = store.findServiceByVip(network, ipBytes);
  if (service !== undefined) {
    if (service.loadBalancing?.mode === LoadBalancing_Mode.PASSTHROUGH) {
      return { kind: 'passthrough', target: destination, service: routedService(service) };
    }
    const picked = pickEndpoint(service, store.findEndpoints(serviceKey(service)), destination.port, source, random);
    if (picked === undefined) return { kind: 'no-healthy-upstream', service: routedService(service), target: destination };
    return (
      toWorkload(picked.endpoint.workload, picked.port, family, service) ?? {
        kind: 'no-healthy-upstream',
        service: routedService(service),
        target: destination,
      }
    );
  }

  const workload = store.findWorkloadByAddress(network, ipBytes);
  if (workload !== undefined) {
    return toWorkload(workload, destination.port, family, undefined) ?? { kind: 'passthrough', target: destination, service: undefined };
  }
  return { kind: 'passthrough', target: destination, service: undefined };
}
