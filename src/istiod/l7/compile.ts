/**
 * istiod's L7 compiler: a pure function from config objects to one
 * waypoint's WaypointConfig. Deterministic (sorted) and total: bad
 * references become warnings. Covers bound Services, default routes,
 * VirtualService http routes (match, weighted destinations, subsets),
 * DestinationRule subsets and load balancer, endpoints and peers.
 */
import type { ConfigObject } from '../config/types.js';
import {
  clusterName,
  type CompiledCluster,
  type CompiledEndpoint,
  type CompiledService,
  type HeaderMatch,
  type HttpMatch,
  type HttpRoute,
  type LoadBalancer,
  type PortProtocol,
  type RetryPolicy,
  type StringMatch,
  type WaypointConfig,
  type WaypointFor,
  type WeightedCluster,
} from '../../shared/l7/waypoint-config.js';
import { selectsNonEmpty } from '../index/labels.js';
import { podUid } from '../index/workloads.js';
import { createdMs } from '../index/services.js';
import { hostCovers, resolveHost, serviceHostname } from './hosts.js';
import { compilePeers, podIp } from './peers.js';
import { portProtocol } from './protocol.js';
import { durationMs, num, rec, recs, str, strMap, strs, type Raw } from './spec-readers.js';

export interface CompileInput {
  readonly waypoint: { readonly namespace: string; readonly name: string; readonly for: WaypointFor; readonly identity: string };
  readonly trustDomain: string;
  readonly domainSuffix: string;
  readonly clusterId: string;
  readonly services: readonly ConfigObject<'Service'>[];
  readonly allServices: readonly ConfigObject<'Service'>[];
  readonly pods: readonly ConfigObject<'Pod'>[];
  readonly podEnrolled: (pod: ConfigObject<'Pod'>) => boolean;
  readonly virtualServices: readonly ConfigObject<'VirtualService'>[];
  readonly httpRoutes: readonly ConfigObject<'HTTPRoute'>[];
  readonly grpcRoutes: readonly ConfigObject<'GRPCRoute'>[];
  readonly tcpRoutes: readonly ConfigObject<'TCPRoute'>[];
  readonly destinationRules: readonly ConfigObject<'DestinationRule'>[];
  readonly authorizationPolicies: readonly ConfigObject<'AuthorizationPolicy'>[];
}

const EMPTY_OPS = { set: {}, add: {}, remove: [] };
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 2,
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  retriableStatusCodes: [503],
  retryOtherHosts: true,
};

interface Ctx {
  readonly input: CompileInput;
  readonly warnings: string[];
  /** Cluster names routes asked for. */
  readonly wanted: Set<string>;
}

function fqdnOf(svc: ConfigObject<'Service'>, suffix: string): string {
  return serviceHostname(svc.metadata.name, svc.metadata.namespace, suffix);
}

function stringMatch(v: unknown): StringMatch | undefined {
  const r = rec(v);
  if (r === undefined) return undefined;
  const exact = str(r['exact']);
  if (exact !== undefined) return { exact };
  const prefix = str(r['prefix']);
  if (prefix !== undefined) return { prefix };
  const regex = str(r['regex']);
  return regex !== undefined ? { regex } : undefined;
}

function headerMatches(v: unknown): HeaderMatch[] {
  return Object.entries(rec(v) ?? {})
    .map(([name, m]) => {
      const match = stringMatch(m);
      return match === undefined ? { name: name.toLowerCase() } : { name: name.toLowerCase(), match };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function vsMatch(m: Raw): HttpMatch {
  const out: { -readonly [K in keyof HttpMatch]: HttpMatch[K] } = {
    headers: headerMatches(m['headers']),
    withoutHeaders: headerMatches(m['withoutHeaders']),
    queryParams: headerMatches(m['queryParams']),
  };
  const name = str(m['name']);
  if (name !== undefined) out.name = name;
  for (const k of ['uri', 'method', 'authority', 'scheme'] as const) {
    const sm = stringMatch(m[k]);
    if (sm !== undefined) out[k] = sm;
  }
  const port = num(m['port']);
  if (port !== undefined) out.port = port;
  if (rec(m['sourceLabels']) !== undefined) out.sourceLabels = strMap(m['sourceLabels']);
  const ns = str(m['sourceNamespace']);
  if (ns !== undefined) out.sourceNamespace = ns;
  if (m['ignoreUriCase'] === true) out.ignoreUriCase = true;
  return out;
}

function destinationClusters(ctx: Ctx, dest: Raw, ns: string, where: string): string[] {
  const host = resolveHost(str(dest['host']) ?? '', ns, ctx.input.domainSuffix);
  const subset = str(dest['subset']) ?? '';
  const svc = ctx.input.allServices.find((s) => fqdnOf(s, ctx.input.domainSuffix) === host);
  const port = num(rec(dest['port'])?.['number']);
  if (port !== undefined) return [clusterName(host, port, subset)];
  if (svc === undefined) {
    ctx.warnings.push(`${where}: destination host ${host} is not a known service`);
    return [];
  }
  const ports = svc.spec.ports.map((p) => p.port);
  if (ports.length > 1) ctx.warnings.push(`${where}: destination ${host} has several ports; one cluster per port`);
  return ports.map((p) => clusterName(host, p, subset));
}

function vsRoute(ctx: Ctx, vs: ConfigObject<'VirtualService'>, r: Raw): HttpRoute | undefined {
  const ns = vs.metadata.namespace;
  const where = `VirtualService/${ns}/${vs.metadata.name}`;
  const clusters: WeightedCluster[] = [];
  const dests = recs(r['route']);
  for (const d of dests) {
    const names = destinationClusters(ctx, rec(d['destination']) ?? {}, ns, where);
    const weight = num(d['weight']) ?? (dests.length === 1 ? 100 : 0);
    for (const cluster of names) {
      ctx.wanted.add(cluster);
      clusters.push({ cluster, weight });
    }
  }
  const redirect = rec(r['redirect']);
  const direct = rec(r['directResponse']);
  let action: HttpRoute['action'];
  if (redirect !== undefined) {
    const uri = str(redirect['uri']);
    const authority = str(redirect['authority']);
    const scheme = str(redirect['scheme']);
    const port = num(redirect['port']);
    action = {
      kind: 'redirect',
      status: num(redirect['redirectCode']) ?? 301,
      ...(uri !== undefined ? { path: uri } : {}),
      ...(authority !== undefined ? { authority } : {}),
      ...(scheme !== undefined ? { scheme } : {}),
      ...(port !== undefined ? { port } : {}),
    };
  } else if (direct !== undefined) {
    const body = str(rec(direct['body'])?.['string']);
    action = { kind: 'direct', status: num(direct['status']) ?? 200, ...(body !== undefined ? { body } : {}) };
  } else if (clusters.length > 0) {
    action = { kind: 'forward', clusters };
  } else {
    ctx.warnings.push(`${where}: http route without a usable destination`);
    return undefined;
  }
  const timeoutMs = durationMs(r['timeout']);
  return {
    source: where,
    name: str(r['name']) ?? '',
    matches: recs(r['match']).map(vsMatch),
    action,
    headers: { request: EMPTY_OPS, response: EMPTY_OPS },
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    retries: retryPolicy(rec(r['retries'])),
    mirrors: [],
  };
}

function retryPolicy(r: Raw | undefined): RetryPolicy {
  if (r === undefined) return DEFAULT_RETRY;
  const attempts = num(r['attempts']) ?? DEFAULT_RETRY.attempts;
  const perTry = durationMs(r['perTryTimeout']);
  const on = str(r['retryOn']);
  const tokens = on === undefined ? [...DEFAULT_RETRY.retryOn] : on.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const codes = tokens.filter((t) => /^\d+$/.test(t)).map(Number);
  const retryOn = tokens.filter((t) => !/^\d+$/.test(t));
  if (codes.length > 0 && !retryOn.includes('retriable-status-codes')) retryOn.push('retriable-status-codes');
  return {
    attempts,
    ...(perTry !== undefined ? { perTryTimeoutMs: perTry } : {}),
    retryOn,
    retriableStatusCodes: on === undefined ? [503] : codes,
    retryOtherHosts: true,
  };
}

function vsApplies(vs: ConfigObject<'VirtualService'>, host: string, suffix: string): boolean {
  const gateways = strs(vs.spec['gateways']);
  if (gateways.length > 0 && !gateways.includes('mesh')) return false;
  return strs(vs.spec['hosts']).some((h) => hostCovers(resolveHost(h, vs.metadata.namespace, suffix), host));
}

function byAge<T extends { metadata: { creationTimestamp?: string; namespace: string; name: string } }>(a: T, b: T): number {
  return (
    createdMs(a.metadata.creationTimestamp) - createdMs(b.metadata.creationTimestamp) ||
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`)
  );
}

function compileService(ctx: Ctx, svc: ConfigObject<'Service'>): CompiledService {
  const suffix = ctx.input.domainSuffix;
  const hostname = fqdnOf(svc, suffix);
  const ports = svc.spec.ports.map((p) => ({ port: p.port, name: p.name ?? '', protocol: portProtocol(p) }));
  for (const p of ports) ctx.wanted.add(clusterName(hostname, p.port));
  const vses = ctx.input.virtualServices.filter((v) => vsApplies(v, hostname, suffix)).sort(byAge);
  if (vses.length > 1) ctx.warnings.push(`${hostname}: ${vses.length} VirtualServices merged oldest first`);
  const http: HttpRoute[] = [];
  for (const vs of vses) for (const r of recs(vs.spec['http'])) {
    const route = vsRoute(ctx, vs, r);
    if (route !== undefined) http.push(route);
  }
  const httpPorts = ports.filter((p) => p.protocol !== 'tcp');
  if (http.length === 0) {
    for (const p of httpPorts) {
      http.push({
        source: 'default',
        name: '',
        matches: [{ headers: [], withoutHeaders: [], queryParams: [], port: p.port }],
        action: { kind: 'forward', clusters: [{ cluster: clusterName(hostname, p.port), weight: 100 }] },
        headers: { request: EMPTY_OPS, response: EMPTY_OPS },
        retries: DEFAULT_RETRY,
        mirrors: [],
      });
    }
  }
  const tcp = ports
    .filter((p) => p.protocol === 'tcp')
    .map((p) => ({ source: 'default', port: p.port, clusters: [{ cluster: clusterName(hostname, p.port), weight: 100 }] }));
  const vips = (svc.spec.clusterIPs ?? (svc.spec.clusterIP !== undefined ? [svc.spec.clusterIP] : [])).filter(
    (ip) => ip !== '' && ip !== 'None',
  );
  return {
    hostname,
    namespace: svc.metadata.namespace,
    name: svc.metadata.name,
    vips,
    ports,
    http,
    tcp,
    routeSource: vses.length > 0 ? vses.map((v) => `VirtualService/${v.metadata.namespace}/${v.metadata.name}`).join(',') : 'default',
  };
}

function loadBalancer(policy: Raw | undefined): LoadBalancer {
  const lb = rec(policy?.['loadBalancer']);
  switch (str(lb?.['simple'])) {
    case 'ROUND_ROBIN':
      return { kind: 'ROUND_ROBIN' };
    case 'RANDOM':
      return { kind: 'RANDOM' };
    case 'PASSTHROUGH':
      return { kind: 'PASSTHROUGH' };
    default:
      return { kind: 'LEAST_REQUEST' };
  }
}

function endpointsOf(ctx: Ctx, svc: ConfigObject<'Service'>, port: number, subsetLabels: Record<string, string>): CompiledEndpoint[] {
  const sp = svc.spec.ports.find((p) => p.port === port);
  const out: CompiledEndpoint[] = [];
  for (const pod of ctx.input.pods) {
    const ip = podIp(pod);
    if (ip === undefined || pod.metadata.namespace !== svc.metadata.namespace) continue;
    if (pod.status?.phase !== undefined && pod.status.phase !== 'Running') continue;
    if (!selectsNonEmpty(svc.spec.selector, pod.metadata.labels)) continue;
    if (!Object.entries(subsetLabels).every(([k, v]) => pod.metadata.labels[k] === v)) continue;
    const target = sp?.targetPort;
    let epPort = port;
    if (typeof target === 'number') epPort = target;
    else if (typeof target === 'string') {
      const cp = pod.spec.containers.flatMap((c) => c.ports).find((p) => p.name === target);
      if (cp !== undefined) epPort = cp.containerPort;
    }
    out.push({
      ip,
      port: epPort,
      uid: podUid(ctx.input.clusterId, pod.metadata.namespace, pod.metadata.name),
      identity: `spiffe://${ctx.input.trustDomain}/ns/${pod.metadata.namespace}/sa/${pod.spec.serviceAccountName ?? 'default'}`,
      protocol: ctx.input.podEnrolled(pod) ? 'HBONE' : 'TCP',
      healthy: true,
    });
  }
  return out.sort((a, b) => a.uid.localeCompare(b.uid));
}

function compileClusters(ctx: Ctx): Record<string, CompiledCluster> {
  const suffix = ctx.input.domainSuffix;
  const out: Record<string, CompiledCluster> = {};
  for (const name of [...ctx.wanted].sort()) {
    const [, portText, subset = '', hostname = ''] = name.split('|');
    const port = Number(portText);
    const svc = ctx.input.allServices.find((s) => fqdnOf(s, suffix) === hostname);
    if (svc === undefined) continue;
    const dr = ctx.input.destinationRules
      .filter((d) => resolveHost(str(d.spec['host']) ?? '', d.metadata.namespace, suffix) === hostname)
      .sort(byAge)[0];
    let policy = rec(dr?.spec['trafficPolicy']);
    let labels: Record<string, string> = {};
    if (subset !== '') {
      const def = recs(dr?.spec['subsets']).find((s) => str(s['name']) === subset);
      if (def === undefined) {
        ctx.warnings.push(`${name}: subset ${subset} is defined by no DestinationRule`);
        continue;
      }
      labels = strMap(def['labels']);
      policy = rec(def['trafficPolicy']) ?? policy;
    }
    const sp = svc.spec.ports.find((p) => p.port === port);
    const protocol: PortProtocol = sp !== undefined ? portProtocol(sp) : 'tcp';
    out[name] = {
      name,
      hostname,
      port,
      subset,
      protocol,
      lb: loadBalancer(policy),
      connectionPool: {},
      endpoints: endpointsOf(ctx, svc, port, labels),
      ...(dr !== undefined ? { policySource: `DestinationRule/${dr.metadata.namespace}/${dr.metadata.name}` } : {}),
    };
  }
  return out;
}

export function compileWaypointConfig(input: CompileInput): WaypointConfig {
  const ctx: Ctx = { input, warnings: [], wanted: new Set() };
  const services = input.services
    .map((s) => compileService(ctx, s))
    .sort((a, b) => a.hostname.localeCompare(b.hostname));
  const clusters = compileClusters(ctx);
  return {
    waypoint: { ...input.waypoint },
    trustDomain: input.trustDomain,
    services,
    workloads: [],
    clusters,
    policies: [],
    peers: compilePeers(input.pods, input.clusterId),
    warnings: [...ctx.warnings].sort(),
  };
}
