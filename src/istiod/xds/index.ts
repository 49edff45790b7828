/** The xDS server: delta and SotW ADS over gRPC for ztunnel and friends. */
export {
  XdsServer,
  type XdsServerOptions,
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_MAX_DEBOUNCE_MS,
  DEFAULT_MAX_QUEUED_PUSHES,
  DEFAULT_SEND_TIMEOUT_MS,
  DEFAULT_PUSH_THROTTLE,
} from './server.js';
export type { XdsTransport } from './server.js';
export {
  MeshXdsAuthenticator,
  authorizeNode,
  authorizeType,
  describeCaller,
  NODE_AGENT_TYPE_URLS,
  authorizeSubscription,
  type XdsAuthenticator,
  type XdsCaller,
  type XdsStreamCredentials,
  type MeshXdsAuthenticatorOptions,
} from './auth.js';
export { xdsServerCredentials } from './server-credentials.js';
export { CompositeSource } from './composite-source.js';
export {
  listenXds,
  XDS_PLAINTEXT_PORT,
  XDS_TLS_PORT,
  XDS_SERVER_OPTIONS,
  type XdsListenOptions,
  type XdsListeners,
  type XdsTlsMaterial,
} from './grpc-listen.js';
export { parseNodeId, decodeNode, NODE_TYPES, type NodeType, type XdsNode, type XdsNodeId } from './node.js';
export { XdsError, type XdsErrorCode } from './errors.js';
export { XdsMetrics, metricType, type MetricType, type AuthFailureReason } from './metrics.js';
export type { SyncStatus, SyncState, TypeSyncStatus } from './sync-status.js';
export {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WORKLOAD_TYPE_URL,
  type XdsResource,
  type XdsResourceSource,
  type ResourceChange,
} from './resource-source.js';
