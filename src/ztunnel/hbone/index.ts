/** HBONE: HTTP/2 CONNECT over mutual TLS 1.3 between node agents (port 15008). */
export { HbonePool, DEFAULT_MAX_STREAMS_PER_CONNECTION, DEFAULT_IDLE_RELEASE_MS, DEFAULT_CONNECT_TIMEOUT_MS } from './client-pool.js';
export type { HboneSource, HboneConnectRequest, HbonePoolOptions, EvictionReason } from './client-pool.js';
export {
  HboneServer,
  DEFAULT_HANDLE_TIMEOUT_MS,
  DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HBONE_MAX_CONNECTIONS,
  DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
  DEFAULT_HBONE_SERVER_LIMITS,
} from './server.js';
export type { HboneRequest, HboneAnswer, HboneHandler, HboneServerOptions, HboneServerLimits } from './server.js';
export { dialHbone, type DialRequest, type DialSource } from './dialer.js';
export { SessionKeepalive, HBONE_PING_INTERVAL_MS, HBONE_PING_TIMEOUT_MS, type KeepaliveOptions, type KeepaliveFailure } from './keepalive.js';
export { formatAuthority, parseAuthority, type SocketAddr } from './authority.js';
export { HboneError, type HboneErrorCode } from './errors.js';
export { uriSans, peerSpiffeId } from './peer-identity.js';
export * from './tls-material.js';
