/**
 * The API resources the Kubernetes source watches, and their REST paths.
 * Core kinds are fixed at one version; the Istio CRDs are served at several
 * (networking.istio.io v1/v1beta1/v1alpha3, security.istio.io v1/v1beta1),
 * and the source picks one served version per group, preferring v1.
 */

export interface WatchedResource {
  /** The object kind as the API returns it (`Pod`, `AuthorizationPolicy`). */
  readonly kind: string;
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
  readonly group: string;
  readonly versions: readonly string[];
  readonly plural: string;
  readonly namespaced: boolean;
}

const ISTIO_NETWORKING_VERSIONS = ['v1', 'v1beta1'];
const ISTIO_SECURITY_VERSIONS = ['v1', 'v1beta1'];

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
];

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
 * versions the group serves. Undefined when the group serves none of them.
 */
export function pickVersion(spec: ResourceSpec, served: readonly string[]): WatchedResource | undefined {
  const version = spec.versions.find((v) => served.includes(v));
  if (version === undefined) return undefined;
  return { kind: spec.kind, group: spec.group, version, plural: spec.plural, namespaced: spec.namespaced };
}
