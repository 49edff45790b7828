/**
 * The compiled L7 configuration of one waypoint: what istiod computes from
 * VirtualService, HTTPRoute, GRPCRoute, TCPRoute, DestinationRule,
 * AuthorizationPolicy, Services and Pods, and what the waypoint interprets.
 * istiod resolves every reference, precedence and default here, so the
 * waypoint's routing is a pure function of this object and a request.
 *
 * Served over delta xDS as `ambit.l7.v1.WaypointConfig` (JSON of this shape,
 * with WAYPOINT_CONFIG_SCHEMA), one resource per waypoint named
 * "<namespace>/<gateway name>". Everything here is plain JSON data: no
 * class, no Map, no undefined that matters.
 */

export const WAYPOINT_CONFIG_TYPE_URL = 'type.googleapis.com/ambit.l7.v1.WaypointConfig';
/** Bumped on any incompatible change of the shapes below; a waypoint NACKs another version. */
export const WAYPOINT_CONFIG_SCHEMA = 1;

/** Istio's `istio.io/waypoint-for`: what traffic the waypoint takes. */
export type WaypointFor = 'service' | 'workload' | 'all' | 'none';

export interface WaypointConfig {
  readonly waypoint: {
    readonly namespace: string;
    /** The Gateway's name (also its ServiceAccount). */
    readonly name: string;
    readonly for: WaypointFor;
    /** The SPIFFE URI the waypoint serves with. */
    readonly identity: string;
  };
  /** The mesh trust domain, e.g. "cluster.local". */
  readonly trustDomain: string;
  /** Services whose traffic this waypoint takes, sorted by hostname. */
  readonly services: readonly CompiledService[];
  /**
   * Workloads addressed directly (waypoint-for workload/all), by IP: their
   * traffic is forwarded to the workload itself after policy.
   */
  readonly workloads: readonly CompiledWorkloadTarget[];
  /** Every upstream cluster a route may name, keyed by name. */
  readonly clusters: Readonly<Record<string, CompiledCluster>>;
  /** L7 authorization policies that apply at this waypoint, in evaluation order (CUSTOM, DENY, ALLOW). */
  readonly policies: readonly CompiledPolicy[];
  /**
   * Telemetry facts of mesh workloads by IP (sources and destinations), for
   * Istio's source_* / destination_* labels.
   */
  readonly peers: Readonly<Record<string, PeerWorkload>>;
  /** Objects that did not compile, with why: shown by proxy-config, never fatal. */
  readonly warnings: readonly string[];
}

/** How one port of a service is spoken, as Istio decides from appProtocol / the port name. */
export type PortProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

export interface CompiledServicePort {
  /** The service port (what clients connect to on the VIP). */
  readonly port: number;
  /** The port name, "" when unnamed. */
  readonly name: string;
  readonly protocol: PortProtocol;
}

export interface CompiledService {
  /** FQDN, e.g. "reviews.default.svc.cluster.local". */
  readonly hostname: string;
  readonly namespace: string;
  /** The Service name ("reviews"); for a ServiceEntry its first host. */
  readonly name: string;
  /** Cluster IPs / ServiceEntry addresses, without network prefix. */
  readonly vips: readonly string[];
  readonly ports: readonly CompiledServicePort[];
  /**
   * HTTP routes in match order (first match wins). When no VirtualService or
   * HTTPRoute applies, istiod emits one catch-all route per port to the
   * service's default cluster, so the list is never empty for an HTTP port.
   */
  readonly http: readonly HttpRoute[];
  /** TCP routes in match order for ports spoken as TCP; a catch-all default as for http. */
  readonly tcp: readonly TcpRoute[];
  /** Where the route came from when several kinds competed (for proxy-config). */
  readonly routeSource: string;
}

export interface CompiledWorkloadTarget {
  readonly ip: string;
  /** The cluster holding just this workload (one endpoint per port is made on demand from `ports`). */
  readonly uid: string;
  readonly identity: string;
  /** HBONE when the workload is captured by its node agent, TCP otherwise. */
  readonly protocol: EndpointProtocol;
}

// ---------- matching ----------

/** Istio's StringMatch: exactly one of exact, prefix, regex (RE2 syntax, full match). */
export type StringMatch =
  { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

export interface HeaderMatch {
  /** Lower-case header name. */
  readonly name: string;
  /** Absent: the header must be present with any value. */
  readonly match?: StringMatch;
}

export interface HttpMatch {
  /** The match's own name (VirtualService match `name`), for logs. */
  readonly name?: string;
  readonly uri?: StringMatch;
  /** Case-sensitive. */
  readonly method?: StringMatch;
  /** The Host / :authority, port stripped. */
  readonly authority?: StringMatch;
  readonly scheme?: StringMatch;
  /** All must match. */
  readonly headers: readonly HeaderMatch[];
  /** None may match (a HeaderMatch without `match` means "header absent"). */
  readonly withoutHeaders: readonly HeaderMatch[];
  /** All must match; a query parameter without `match` must be present. */
  readonly queryParams: readonly HeaderMatch[];
  /** The service port the request arrived on; absent: any. */
  readonly port?: number;
  /** Source workload labels (VirtualService sourceLabels); absent: any. */
  readonly sourceLabels?: Readonly<Record<string, string>>;
  readonly sourceNamespace?: string;
  /** Ignore case for uri exact/prefix (VirtualService ignoreUriCase). */
  readonly ignoreUriCase?: boolean;
}

// ---------- actions ----------

export interface HeaderOps {
  /** Overwrites (lower-case names). */
  readonly set: Readonly<Record<string, string>>;
  /** Appends. */
  readonly add: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

export interface WeightedCluster {
  /** A key of WaypointConfig.clusters; a name that is absent answers 503 with flag NC as Envoy does. */
  readonly cluster: string;
  /** Relative weight; weights of a route need not sum to 100. 0 never picked. */
  readonly weight: number;
  /** Header ops of this destination (VirtualService destination headers, HTTPRoute backendRef filters). */
  readonly headers?: { readonly request: HeaderOps; readonly response: HeaderOps };
}

export interface RetryPolicy {
  /** Retries after the first try (Istio attempts); 0 = no retry. */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry_on tokens: 5xx, gateway-error, reset, connect-failure, refused-stream, retriable-4xx, retriable-status-codes, retriable-headers, unavailable, cancelled, deadline-exceeded, resource-exhausted, internal. */
  readonly retryOn: readonly string[];
  readonly retriableStatusCodes: readonly number[];
  /** Retry a different host when possible (Istio sets retryRemoteLocalities/previous hosts). */
  readonly retryOtherHosts: boolean;
}

export interface FaultPolicy {
  readonly delay?: { readonly fixedDelayMs: number; readonly percent: number };
  /** httpStatus for HTTP, grpcStatus (code number) for gRPC. */
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent: number };
}

export interface MirrorPolicy {
  readonly cluster: string;
  /** 0..100. */
  readonly percent: number;
}

export interface CorsPolicy {
  readonly allowOrigins: readonly StringMatch[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
  readonly allowCredentials?: boolean;
  /** Istio unmatchedPreflights: FORWARD (default) or IGNORE. */
  readonly unmatchedPreflights: 'FORWARD' | 'IGNORE';
}

export interface RewritePolicy {
  /** Replace the whole path (Istio `uri` with an exact match / HTTPRoute ReplaceFullPath) ... */
  readonly fullPath?: string;
  /**
   * ... or replace the part of the path the route's match consumed: Istio
   * `rewrite.uri` after a prefix match, HTTPRoute ReplacePrefixMatch.
   */
  readonly prefix?: string;
  readonly regex?: { readonly match: string; readonly substitute: string };
  readonly authority?: string;
}

export type HttpAction =
  | {
      readonly kind: 'forward';
      /** Never empty. */
      readonly clusters: readonly WeightedCluster[];
    }
  | {
      readonly kind: 'redirect';
      readonly scheme?: string;
      readonly authority?: string;
      readonly port?: number;
      /** Full path replacement... */
      readonly path?: string;
      /** ...or prefix replacement (HTTPRoute ReplacePrefixMatch). */
      readonly prefix?: string;
      /** 301 by default. */
      readonly status: number;
    }
  | { readonly kind: 'direct'; readonly status: number; readonly body?: string };

export interface HttpRoute {
  /** "VirtualService/<ns>/<name>" or "HTTPRoute/<ns>/<name>", "default" for the built-in route. */
  readonly source: string;
  /** The route's own name (VirtualService http[].name), "" when unnamed. */
  readonly name: string;
  /** Any one matches; empty: matches every request. */
  readonly matches: readonly HttpMatch[];
  readonly action: HttpAction;
  readonly rewrite?: RewritePolicy;
  readonly headers: { readonly request: HeaderOps; readonly response: HeaderOps };
  /** Whole-request timeout; absent: none (Istio's default for HTTP routes is disabled). */
  readonly timeoutMs?: number;
  readonly retries: RetryPolicy;
  readonly fault?: FaultPolicy;
  readonly mirrors: readonly MirrorPolicy[];
  readonly cors?: CorsPolicy;
}

export interface TcpRoute {
  readonly source: string;
  /** Service port; absent: any. */
  readonly port?: number;
  readonly clusters: readonly WeightedCluster[];
}

// ---------- upstream ----------

export type LoadBalancer =
  | { readonly kind: 'LEAST_REQUEST' }
  | { readonly kind: 'ROUND_ROBIN' }
  | { readonly kind: 'RANDOM' }
  | { readonly kind: 'PASSTHROUGH' }
  | {
      readonly kind: 'CONSISTENT_HASH';
      readonly hash:
        | { readonly header: string }
        | { readonly cookie: { readonly name: string; readonly path?: string; readonly ttlMs?: number } }
        | { readonly sourceIp: true }
        | { readonly queryParameter: string };
    };

export interface ConnectionPoolPolicy {
  /** tcp.maxConnections: upstream connections per endpoint set; Envoy's default 2^32-1. */
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  readonly http1MaxPendingRequests?: number;
  readonly http2MaxRequests?: number;
  readonly maxRequestsPerConnection?: number;
  readonly maxRetries?: number;
  readonly idleTimeoutMs?: number;
}

export interface OutlierDetectionPolicy {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  /** 0..100, the effective value (istiod fills Istio's default). */
  readonly maxEjectionPercent: number;
}

export type EndpointProtocol = 'HBONE' | 'TCP';

export interface CompiledEndpoint {
  readonly ip: string;
  /** The port to reach on the endpoint (the Service targetPort resolved for this pod). */
  readonly port: number;
  /** The workload uid (istio.workload.Workload uid). */
  readonly uid: string;
  /** The endpoint's SPIFFE URI: HBONE verifies the server presents it. */
  readonly identity: string;
  readonly protocol: EndpointProtocol;
  readonly healthy: boolean;
}

export interface CompiledCluster {
  /** Istio's name: "outbound|<port>|<subset>|<hostname>" (subset "" when none). */
  readonly name: string;
  readonly hostname: string;
  /** The service port. */
  readonly port: number;
  readonly subset: string;
  readonly protocol: PortProtocol;
  readonly lb: LoadBalancer;
  readonly connectionPool: ConnectionPoolPolicy;
  readonly outlierDetection?: OutlierDetectionPolicy;
  readonly endpoints: readonly CompiledEndpoint[];
  /** "DestinationRule/<ns>/<name>" when one applied. */
  readonly policySource?: string;
}

// ---------- authorization ----------

export type PolicyAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/** Istio's Source, Operation and Condition, kept as the policy wrote them (lists may be absent = any). */
export interface PolicySource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

export interface PolicyOperation {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface PolicyCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface PolicyRule {
  readonly from: readonly { readonly source: PolicySource }[];
  readonly to: readonly { readonly operation: PolicyOperation }[];
  readonly when: readonly PolicyCondition[];
}

export interface CompiledPolicy {
  /** "<ns>/<name>". */
  readonly name: string;
  readonly action: PolicyAction;
  /**
   * Service hostnames the policy applies to; `all` when bound to the
   * waypoint Gateway itself (every request through it).
   */
  readonly appliesTo: 'all' | readonly string[];
  /** Empty: an ALLOW matches nothing (deny all), a DENY matches nothing. `rules: [{}]` is one empty rule: matches everything. */
  readonly rules: readonly PolicyRule[];
}

// ---------- telemetry ----------

export interface PeerWorkload {
  readonly uid: string;
  /** The workload name (the Deployment's name for its pods). */
  readonly workload: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** service.istio.io/canonical-name, else app, else the workload name. */
  readonly canonicalService: string;
  /** service.istio.io/canonical-revision, else version, else "latest". */
  readonly canonicalRevision: string;
  readonly cluster: string;
  /** Pod labels, for sourceLabels matches. */
  readonly labels: Readonly<Record<string, string>>;
}

/** The Istio cluster name of a service port and subset. */
export function clusterName(hostname: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${hostname}`;
}
