/** The node agent's proxy: outbound routing, HBONE and plaintext inbound, per-pod wiring. */
export { routeOutbound, pickEndpoint, type Route, type RoutedService, type Random } from './route.js';
export { PodProxy, type PodListenerSet } from './pod-proxy.js';
export { LiveInbound } from './live-inbound.js';
export { handleOutbound } from './outbound.js';
export { handleInboundPlaintext } from './inbound-plaintext.js';
export { hboneHandler } from './inbound-hbone.js';
export { splice, whenClosed, abort, resetSocket, type CopyResult, type TunnelResult, type OnBytes } from './copy.js';
export { denyEarly, guardConnection } from './early-deny.js';
export { DEFAULT_MAX_PENDING_HBONE_ACCEPTS, DEFAULT_PROXY_LIMITS, proxyLimits, type ProxyLimits } from './limits.js';
export {
  ILLEGAL_PORTS,
  workloadOfPod,
  type LocalPod,
  type PodSockets,
  type ProxyContext,
  type WorkloadCertificates,
} from './context.js';
