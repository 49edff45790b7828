/**
 * The Istio traffic label set for the node agent's TCP metrics, resolved
 * once per connection from what the proxy knows at setup. Names, order and
 * semantics follow ztunnel's `CommonTrafficLabels`: missing values are
 * `unknown`, `source_app`/`source_version` repeat the canonical name and
 * revision, `source_principal` is only ever a TLS identity.
 */
import { formatSpiffeId, type SpiffeId } from '../../shared/spiffe.js';

/** Which side reports: `source` for outbound (the sending agent), `destination` for inbound. */
export type Reporter = 'source' | 'destination';

/** Why a connection ended badly, as Istio's `response_flags` label values. */
export const ResponseFlag = {
  None: '-',
  /** Denied by an authorization policy. */
  Deny: 'DENY',
  /** The upstream connect (or another step of the setup) failed. */
  Connect: 'CONNECT',
  TlsFailure: 'TLS_FAILURE',
  H2HandshakeFailure: 'H2_HANDSHAKE_FAILURE',
  /** The HBONE connect timed out: usually a network policy dropping it. */
  NetworkPolicy: 'NETWORK_POLICY',
  IdentityError: 'IDENTITY_ERROR',
} as const;
export type ResponseFlag = (typeof ResponseFlag)[keyof typeof ResponseFlag];

export const RESPONSE_FLAGS: readonly ResponseFlag[] = Object.values(ResponseFlag);

/** `mutual_tls` for HBONE in either direction, `unknown` for plaintext and passthrough. */
export type SecurityPolicy = 'mutual_tls' | 'unknown';

/** What the metrics need to know about a workload (a projection of the store's Workload). */
export interface WorkloadDescriptor {
  /** The pod (or entry) name. */
  readonly name: string;
  readonly namespace: string;
  /** The owning workload, e.g. the Deployment name. */
  readonly workloadName: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly clusterId: string;
  /** The identity the workload runs as (defaults already applied); undefined for a pod the store does not know. */
  readonly identity: SpiffeId | undefined;
}

/** The Service the client meant to reach (for waypoint traffic: the original service). */
export interface ServiceDescriptor {
  readonly hostname: string;
  readonly name: string;
  readonly namespace: string;
}

/** Everything the proxy knows about a connection when it sets it up. */
export interface ConnectionContext {
  readonly reporter: Reporter;
  /** The client workload, when found (outbound: always the local pod). */
  readonly source?: WorkloadDescriptor;
  /** The server workload, when found (inbound: always the local pod). */
  readonly destination?: WorkloadDescriptor;
  readonly destinationService?: ServiceDescriptor;
  /**
   * The identity the TLS handshake verified: inbound, the client's
   * certificate; outbound, the server's. Absent for plaintext.
   */
  readonly peerIdentity?: SpiffeId;
  readonly connectionSecurityPolicy: SecurityPolicy;
}

/** The traffic labels in Istio's encoding order. */
export const TRAFFIC_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type TrafficLabelName = (typeof TRAFFIC_LABEL_NAMES)[number];
export type TrafficLabels = { readonly [K in TrafficLabelName]: string };

export const UNKNOWN = 'unknown';

function orUnknown(value: string | undefined): string {
  return value === undefined || value === '' ? UNKNOWN : value;
}

/**
 * The principal the source is known by. Only a TLS identity counts: inbound
 * the verified client certificate; outbound over HBONE our own workload's
 * identity, which we present. Plaintext has none.
 */
function sourcePrincipal(ctx: ConnectionContext): SpiffeId | undefined {
  if (ctx.connectionSecurityPolicy !== 'mutual_tls') return undefined;
  if (ctx.reporter === 'destination') return ctx.peerIdentity;
  return ctx.source?.identity;
}

/** The destination workload's identity, or the verified server certificate when the workload is unknown. */
function destinationPrincipal(ctx: ConnectionContext): SpiffeId | undefined {
  if (ctx.destination?.identity !== undefined) return ctx.destination.identity;
  return ctx.reporter === 'source' && ctx.connectionSecurityPolicy === 'mutual_tls'
    ? ctx.peerIdentity
    : undefined;
}

function principal(id: SpiffeId | undefined): string {
  return id === undefined ? UNKNOWN : formatSpiffeId(id);
}

/**
 * Resolves the label set of a connection (with `response_flags` = `-`; the
 * close counters substitute the final flag).
 */
export function trafficLabels(ctx: ConnectionContext, flag: ResponseFlag = ResponseFlag.None): TrafficLabels {
  const s = ctx.source;
  const d = ctx.destination;
  const svc = ctx.destinationService;
  return {
    reporter: ctx.reporter,
    source_workload: orUnknown(s?.workloadName),
    source_canonical_service: orUnknown(s?.canonicalName),
    source_canonical_revision: orUnknown(s?.canonicalRevision),
    source_workload_namespace: orUnknown(s?.namespace),
    source_principal: principal(sourcePrincipal(ctx)),
    source_app: orUnknown(s?.canonicalName),
    source_version: orUnknown(s?.canonicalRevision),
    source_cluster: orUnknown(s?.clusterId),
    destination_service: orUnknown(svc?.hostname),
    destination_service_namespace: orUnknown(svc?.namespace),
    destination_service_name: orUnknown(svc?.name),
    destination_workload: orUnknown(d?.workloadName),
    destination_canonical_service: orUnknown(d?.canonicalName),
    destination_canonical_revision: orUnknown(d?.canonicalRevision),
    destination_workload_namespace: orUnknown(d?.namespace),
    destination_principal: principal(destinationPrincipal(ctx)),
    destination_app: orUnknown(d?.canonicalName),
    destination_version: orUnknown(d?.canonicalRevision),
    destination_cluster: orUnknown(d?.clusterId),
    request_protocol: 'tcp',
    response_flags: flag,
    connection_security_policy: ctx.connectionSecurityPolicy,
  };
}
