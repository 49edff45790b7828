/** The node agent's delta xDS client (istiod -> WorkloadStore) and the decoder of what it receives into domain types. */
export {
  XdsClient,
  MAX_RESPONSE_BYTES,
  KEEPALIVE_MS,
  type XdsClientOptions,
  type XdsClientStatus,
  type XdsTypeStatus,
} from './client.js';
export { Backoff, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, type BackoffOptions } from './backoff.js';
export {
  decodeResources,
  decodeWorkload,
  decodePolicy,
  workloadSpiffeId,
  nackMessage,
  WATCHED_TYPE_URLS,
  DEFAULT_TRUST_DOMAIN,
  DEFAULT_SERVICE_ACCOUNT,
  type DecodedResponse,
  type Rejection,
  type AcceptedResource,
} from './decode.js';
export { XdsClientMetrics, type TerminationReason } from './metrics.js';
export { agentNode, agentNodeId, type AgentIdentity } from './node.js';
export { XdsClientError, XdsResourceError } from './errors.js';
