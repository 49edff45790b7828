/**
 * The API resources the Kubernetes source watches, and their REST paths.
 * Core kinds are fixed at one version; the Istio and Gateway API CRDs are
 * served at several (networking.istio.io v1/v1beta1/v1alpha3,
 * security.istio.io v1/v1beta1, gateway.networking.k8s.io v1/v1beta1/
 * v1alpha2 depending on the kind and release), and the source picks, per
 * resource, the most preferred version that serves it.
 */

export interface WatchedResource {
  /** The object kind as the API returns it (`Pod`, `AuthorizationPolicy`). */
  readonly kind: string;
  /** The ConfigKind objects are stored as, when it is not `kind` (the Gateway API Gateway: `KubernetesGateway`). */
  readonly configKind?: string;
  /** API group; empty for the core group (`/api/v1`). */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in paths (`pods`, `authorizationpolicies`). */
  readonly plural: string;
  readonly namespaced: boolean;
}

/** A resource whose versions are discovered: the versions it may be served at, most preferred first. */
export interface ResourceSpec {
  readonly kind: string;
  readonly configKind?: string;
  readonly group: string;
  readonly versions: readonly string[];
  readonly plural: string;
  readonly namespaced: boolean;
}

const ISTIO_NETWORKING_VERSIONS = ['v1', 'v1beta1'];
const ISTIO_SECURITY_VERSIONS = ['v1', 'v1beta1'];
const GATEWAY_API = 'gateway.networking.k8s.io';

/** Everything the source lists and watches, in the order their initial lists are applied. */
export const WATCHED_RESOURCE_SPECS: readonly ResourceSpec[] = [
  { kind: 'Namespace', group: '', versions: ['v1'], plural: 'namespaces', namespaced: false },
  { kind: 'ServiceAccount', group: '', versions: ['v1'], plural: 'serviceaccounts', namespaced: true },
  { kind: 'Service', group: '', versions: ['v1'], plural: 'services', namespaced: true },
  { kind: 'Pod', group: '', versions: ['v1'], plural: 'pods', namespaced: true },
  { kind: 'EndpointSlice', group: 'discovery.k8s.io', versions: ['v1'], plural: 'endpointslices', namespaced: true },
  { kind: 'WorkloadEntry', group: 'networking.istio.io', versions: ISTIO_NETWORKING_VERSIONS, plural: 'workloadentries', namespaced: true },
  { kind: 'ServiceEntry', group: 'networking.istio.io', versions: ISTIO_NETWORKING_VERSIONS, plural: 'serviceentries', namespaced: true },
  { kind: 'VirtualService', group: 'networking.istio.io', versions: ISTIO_NETWORKING_VERSIONS, plural: 'virtualservices', namespaced: true },
  { kind: 'DestinationRule', group: 'networking.istio.io', versions: ISTIO_NETWORKING_VERSIONS, plural: 'destinationrules', namespaced: true },
  { kind: 'Gateway', group: 'networking.istio.io', versions: ISTIO_NETWORKING_VERSIONS, plural: 'gateways', namespaced: true },
  { kind: 'AuthorizationPolicy', group: 'security.istio.io', versions: ISTIO_SECURITY_VERSIONS, plural: 'authorizationpolicies', namespaced: true },
  { kind: 'PeerAuthentication', group: 'security.istio.io', versions: ISTIO_SECURITY_VERSIONS, plural: 'peerauthentications', namespaced: true },
  // Gateway API: GatewayClass before the Gateways of a class, Gateways before the routes that attach to them.
  { kind: 'GatewayClass', group: GATEWAY_API, versions: ['v1', 'v1beta1'], plural: 'gatewayclasses', namespaced: false },
  { kind: 'Gateway', configKind: 'KubernetesGateway', group: GATEWAY_API, versions: ['v1', 'v1beta1'], plural: 'gateways', namespaced: true },
  { kind: 'HTTPRoute', group: GATEWAY_API, versions: ['v1', 'v1beta1'], plural: 'httproutes', namespaced: true },
  { kind: 'GRPCRoute', group: GATEWAY_API, versions: ['v1', 'v1alpha2'], plural: 'grpcroutes', namespaced: true },
  // TCPRoute is in the experimental channel (v1alpha2) until release 1.5 made it v1.
  { kind: 'TCPRoute', group: GATEWAY_API, versions: ['v1', 'v1alpha2'], plural: 'tcproutes', namespaced: true },
  { kind: 'ReferenceGrant', group: GATEWAY_API, versions: ['v1', 'v1beta1', 'v1alpha2'], plural: 'referencegrants', namespaced: true },
];

/** The ConfigKind a resource's objects are stored as. */
export function configKindOf(r: { readonly kind: string; readonly configKind?: string }): string {
  return r.configKind ?? r.kind;
}

/** `v1` or `networking.istio.io/v1`. */
export function apiVersionOf(r: { readonly group: string; readonly version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(r: { readonly group: string; readonly version: string }): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

/** The cluster-wide collection path: `/api/v1/pods`, `/apis/security.istio.io/v1/authorizationpolicies`. */
export function collectionPath(r: WatchedResource): string {
  return `${groupVersionPath(r)}/${r.plural}`;
}

/**
 * Picks the served version of a resource: the first of its preferred
 * versions the group serves (and, when `plurals` says which resources each
 * version serves, that serves this one: one group serves Gateways at v1 and
 * TCPRoutes only at v1alpha2). Undefined when none is served.
 */
export function pickVersion(
  spec: ResourceSpec,
  served: readonly string[],
  plurals?: ReadonlyMap<string, ReadonlySet<string>>,
): WatchedResource | undefined {
  const version = spec.versions.find((v) => served.includes(v) && (plurals === undefined || (plurals.get(v)?.has(spec.plural) ?? false)));
  if (version === undefined) return undefined;
  return {
    kind: spec.kind,
    ...(spec.configKind !== undefined ? { configKind: spec.configKind } : {}),
    group: spec.group,
    version,
    plural: spec.plural,
    namespaced: spec.namespaced,
  };
}
