/** The node agent's local HTTP surfaces: stats (15020), readiness (15021), admin (15000). */
export { AdminError } from './errors.js';
export { HttpListener, sendText, type RequestHandler } from './http-listener.js';
export {
  StatsServer,
  STATS_PATHS,
  STATS_PORT,
  acceptsGzip,
  type StatsServerOptions,
} from './stats-server.js';
export {
  Readiness,
  ReadinessServer,
  READINESS_PATH,
  READINESS_PORT,
  type ReadinessServerOptions,
} from './readiness.js';
export { LogLevelControl, ACCEPTED_LOG_LEVELS } from './log-level.js';
export {
  AdminServer,
  ADMIN_DEFAULT_HOST,
  ADMIN_PORT,
  CONNECTIONS_SECTION,
  type AdminServerOptions,
  type ConfigDumpProvider,
} from './admin-server.js';
