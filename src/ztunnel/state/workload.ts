/**
 * The node agent's Workload as the data path reads it: decoded once from
 * `istio.workload.Workload` (in the xDS decoder), with Istio's defaults
 * applied there, so nothing deeper sees the raw message or re-derives a
 * default. Addresses are canonical text (dotted quad, RFC 5952 IPv6), the
 * identity is a parsed SPIFFE id, enums are small string unions.
 */
import type { SpiffeId } from '../../shared/spiffe.js';

/** How peers reach the workload: `hbone` (captured, port 15008), `none` (plain TCP), or Istio's legacy mTLS. */
export type TunnelKind = 'none' | 'hbone' | 'legacy-istio-mtls';

export type NetworkModeKind = 'standard' | 'host-network';

export type WorkloadKind = 'deployment' | 'cronjob' | 'pod' | 'job';

export type HealthStatus = 'healthy' | 'unhealthy';

/** `<network>/<ip>[/<length>]`: an address on a network, a prefix when `length` is below the address width. */
export interface NetworkAddress {
  readonly network: string;
  /** Canonical text. */
  readonly ip: string;
  readonly length: number | undefined;
}

/** Where a waypoint or network gateway is: an address, or a service hostname. */
export type GatewayDestination =
  | { readonly kind: 'address'; readonly address: NetworkAddress }
  | { readonly kind: 'hostname'; readonly namespace: string; readonly hostname: string }
  | { readonly kind: 'none' };

export interface Gateway {
  readonly destination: GatewayDestination;
  readonly hboneMtlsPort: number;
}

export interface ApplicationTunnel {
  readonly protocol: 'none' | 'proxy';
  /** 0 when unset. */
  readonly port: number;
}

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

/** A service port and the workload port that serves it (0: the same number). */
export interface PortMapping {
  readonly servicePort: number;
  readonly targetPort: number;
}

export interface Workload {
  /** `<cluster>//<kind>/<namespace>/<name>`, the xDS resource name. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** The SPIFFE identity the workload runs as: empty trust domain -> cluster.local, empty service account -> default. */
  readonly identity: SpiffeId;
  /** `identity` as a URI (`spiffe://...`): what certificates carry and what peers are verified against. */
  readonly identityUri: string;
  /** Canonical IP text, in the order istiod sent them. */
  readonly addresses: readonly string[];
  readonly network: string;
  readonly tunnel: TunnelKind;
  readonly networkMode: NetworkModeKind;
  readonly hostname: string;
  readonly waypoint: Gateway | undefined;
  readonly networkGateway: Gateway | undefined;
  readonly node: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadType: WorkloadKind;
  readonly workloadName: string;
  readonly nativeTunnel: boolean;
  readonly applicationTunnel: ApplicationTunnel | undefined;
  /** `<namespace>/<hostname>` -> the ports the workload serves that service on. */
  readonly services: Readonly<Record<string, readonly PortMapping[]>>;
  /** Policy keys (`<ns>/<name>`) istiod attached to the workload. */
  readonly authorizationPolicies: readonly string[];
  readonly status: HealthStatus;
  readonly clusterId: string;
  readonly locality: Locality | undefined;
  /** Load-balancing weight: 1 when istiod sends none. */
  readonly capacity: number;
}
