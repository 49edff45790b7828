/** The node agent's delta xDS client (istiod -> WorkloadStore). */
export {
  XdsClient,
  MAX_RESPONSE_BYTES,
  KEEPALIVE_MS,
  type XdsClientOptions,
  type XdsClientStatus,
  type XdsTypeStatus,
} from './client.js';
export { Backoff, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, type BackoffOptions } from './backoff.js';
export { decodeResources, nackMessage, WATCHED_TYPE_URLS, type DecodedResponse, type Rejection, type AcceptedResource } from './decode.js';
export { XdsClientMetrics, type TerminationReason } from './metrics.js';
export { agentNode, agentNodeId, type AgentIdentity } from './node.js';
export { XdsClientError } from './errors.js';
