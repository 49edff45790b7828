/** Pod enrollment (the CNI ↔ node agent protocol, modelled on Istio's ZDS): public surface. */
export { EnrollmentServer, DEFAULT_LISTENER_PORTS } from './server.js';
export type { EnrollmentServerOptions, EnrollmentEvents, ListenerPorts } from './server.js';
export { EnrollmentClient, withEnrollmentClient, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js';
export type { EnrollmentClientOptions } from './client.js';
export { PodRegistry, allListeners } from './registry.js';
export type { PodListeners, RegisteredPod } from './registry.js';
export type { PodCapture, CaptureTarget, ListenAddress } from './capture.js';
export {
  DEFAULT_SOCKET_PATH,
  PROTOCOL_VERSION,
  PROTOCOL_MAX_FRAME_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_POD_CGROUP_ROOT,
} from './protocol.js';
export {
  DEFAULT_ENROLL_IDLE_TIMEOUT_MS,
  DEFAULT_ENROLL_MAX_CONNECTIONS,
  DEFAULT_ENROLLMENT_LIMITS,
  resolveEnrollmentLimits,
} from './limits.js';
export type { EnrollmentLimits } from './limits.js';
export type { PodInfo } from './protocol.js';
export { DEFAULT_RECORDS_FILE } from './records.js';
export { EnrollError, EnrollRejectedError } from './errors.js';
export { redirectPodCapture } from './redirect-capture.js';
export { WorkloadManagerMetrics } from './metrics.js';
export type { WorkloadStateDump } from './server.js';
