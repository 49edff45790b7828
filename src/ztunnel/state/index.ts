/**
 * The node agent's workload store: what istiod pushed, indexed for the data
 * path, applied one push at a time.
 */
export {
  WorkloadStore,
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  policyKey,
  serviceKey,
  type StoreResource,
  type StoreDelta,
  type StoreChange,
  type ChangeSet,
  type ServiceEndpoint,
  type StoreListener,
} from './store.js';
export type {
  Workload,
  TunnelKind,
  NetworkModeKind,
  WorkloadKind,
  HealthStatus,
  NetworkAddress,
  Gateway,
  GatewayDestination,
  ApplicationTunnel,
  Locality,
  PortMapping,
} from './workload.js';
export { dumpStore, dumpWorkload, dumpService, dumpPolicy, type StoreDump } from './dump.js';
export { ipText, networkAddressKey, namespacedHostname } from './address.js';
export { StateError } from './errors.js';
