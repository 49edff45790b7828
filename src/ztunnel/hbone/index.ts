/** HBONE: HTTP/2 CONNECT over mutual TLS 1.3 between node agents (port 15008). */
export { HbonePool, DEFAULT_MAX_STREAMS_PER_CONNECTION, DEFAULT_IDLE_RELEASE_MS, DEFAULT_CONNECT_TIMEOUT_MS } from './client-pool.js';
export type { HboneSource, HboneConnectRequest, HbonePoolOptions } from './client-pool.js';
export { HboneServer, splice, DEFAULT_HANDLE_TIMEOUT_MS } from './server.js';
export type { HboneRequest, HboneAnswer, HboneServerOptions, TunnelResult } from './server.js';
export { formatAuthority, parseAuthority, type SocketAddr } from './authority.js';
export { HboneError, type HboneErrorCode } from './errors.js';
export { uriSans, peerSpiffeId } from './peer-identity.js';
export * from './tls-material.js';
