/**
 * The ambient index: Workload, Service and Authorization resources derived
 * from the config store, served to node agents over xDS.
 */
export { AmbientIndex, type AmbientIndexOptions } from './ambient-index.js';
export { IndexError } from './errors.js';
export { convertAuthorizationPolicy, type ConvertedPolicy } from './authorization.js';
export { STATIC_STRICT_POLICY_NAME, CONVERTED_PEER_AUTHENTICATION_PREFIX } from './peer-authentication.js';
export { podUid, workloadEntryUid, serviceEntryEndpointUid } from './workloads.js';
