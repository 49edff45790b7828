/** The node agent role: what other roles (the CLI, the local mesh) may use of it. */
export { type RedirectStatus, DEFAULT_BPFFS_ROOT, RedirectError, instancePinDir, readRedirectStatus, destroyInstance } from './redirect/index.js';
export { DEFAULT_ADMIN_ADDR, DEFAULT_BPF_INSTANCE, DEFAULT_CLUSTER_ID, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_ENROLL_SOCKET, DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS, DEFAULT_HBONE_MAX_CONNECTIONS, DEFAULT_HBONE_MAX_HEADER_LIST_BYTES, DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION, DEFAULT_MAX_PENDING_HBONE_ACCEPTS, DEFAULT_SECRET_TTL, SECRET_TTL_ENV, DEFAULT_READINESS_ADDR, DEFAULT_RECORDS_FILE, DEFAULT_ROOT_CERT_FILE, DEFAULT_STATS_ADDR, DEFAULT_TRUST_DOMAIN, DEFAULT_XDS_ADDRESS, ZtunnelConfigError, hostOf, parseAddr, parseIntFlag, parseTtlSeconds, requireNonEmpty, type ZtunnelConfig } from './config.js';
export { startAgent } from './agent.js';
export { evaluate, parseIp, peerIdentity, PolicySet, prepareConnection, type ConnectionAttributes, type Decision, type WorkloadPolicyRef } from './authz/index.js';
export { EnrollError, EnrollRejectedError, withEnrollmentClient, DEFAULT_SOCKET_PATH, type PodInfo } from './enroll/index.js';
