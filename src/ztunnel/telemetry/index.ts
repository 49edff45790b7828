/** The node agent's telemetry: Istio's TCP metrics, the per-connection result, live connections, health gauges. */
export {
  ResponseFlag,
  RESPONSE_FLAGS,
  TRAFFIC_LABEL_NAMES,
  UNKNOWN,
  trafficLabels,
  type ConnectionContext,
  type Reporter,
  type SecurityPolicy,
  type ServiceDescriptor,
  type TrafficLabelName,
  type TrafficLabels,
  type WorkloadDescriptor,
} from './traffic-labels.js';
export {
  ConnectionResult,
  TrafficMetrics,
  TCP_CLOSED_METRIC,
  TCP_FAILED_METRIC,
  TCP_OPENED_METRIC,
  TCP_RECEIVED_BYTES_METRIC,
  TCP_SENT_BYTES_METRIC,
  TCP_SOCKETS_OPEN_METRIC,
  type ConnectionEndpoints,
  type TrafficMetricsOptions,
} from './traffic-metrics.js';
export {
  LiveConnections,
  type ConnectionDirection,
  type ConnectionProtocol,
  type LiveConnection,
  type LiveConnectionSource,
} from './connections.js';
export { CounterFamily, type CounterCell } from './counter-family.js';
export {
  AgentMetrics,
  registerBuildInfo,
  ACTIVE_CONNECTIONS_METRIC,
  BUILD_METRIC,
  CERT_EXPIRY_METRIC,
  XDS_CONNECTED_METRIC,
  XDS_RESOURCES_METRIC,
  type AgentMetricsOptions,
  type CertificateExpiry,
  type CertificateExpiryProvider,
  type XdsHealthProvider,
} from './agent-metrics.js';
export {
  GuardMetrics,
  NO_GUARDS,
  EARLY_DENY_METRIC,
  EARLY_DENY_REASONS,
  LIMIT_HIT_METRIC,
  LIMIT_NAMES,
  type EarlyDenyReason,
  type LimitName,
  type ProxyGuards,
} from './guard-metrics.js';
