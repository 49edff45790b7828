/** The Kubernetes config source: list/watch reflectors feeding the ConfigStore, and the client they use. */
export {
  KubernetesSource,
  KUBERNETES_ORIGIN,
  type KubernetesSourceOptions,
  type KubeConfigProblem,
} from './source.js';
export { KubeApiClient, type KubeApiClientOptions, type WatchEvent } from './client.js';
export {
  KubeConnection,
  loadKubeConfig,
  parseKubeconfig,
  inClusterParams,
  IN_CLUSTER_DIR,
  type KubeConnectionParams,
} from './kubeconfig.js';
export { KubeSourceError, isGone, type KubeSourceErrorCode } from './errors.js';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { Reflector, type ReflectorSink, type RawObject, type RestartReason } from './reflector.js';
export {
  WATCHED_RESOURCE_SPECS,
  apiVersionOf,
  collectionPath,
  pickVersion,
  type ResourceSpec,
  type WatchedResource,
} from './resources.js';
export { decodeEndpointSlice, SERVICE_NAME_LABEL, type EndpointSlice, type EndpointSliceEndpoint } from './endpoint-slices.js';
