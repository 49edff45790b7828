/**
 * The node agent's process configuration: one frozen object built at
 * start-up from flags and environment (NODE_NAME, POD_NAME, POD_NAMESPACE,
 * INSTANCE_IP as the DaemonSet sets them). Defaults are named constants.
 */
import { AmbitError } from '../shared/errors.js';
import {
  DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HBONE_MAX_CONNECTIONS,
  DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
  HBONE_SERVER_MAX_HEADER_LIST_BYTES,
} from './hbone/index.js';
import { DEFAULT_MAX_PENDING_HBONE_ACCEPTS } from './proxy/index.js';
import type { EnrollmentLimits } from './enroll/index.js';

export const DEFAULT_XDS_ADDRESS = 'istiod.istio-system.svc:15012';
export const DEFAULT_ENROLL_SOCKET = '/var/run/ambit/ztunnel.sock';
export const DEFAULT_RECORDS_FILE = '/var/run/ambit/enrolled-pods.json';
export const DEFAULT_ADMIN_ADDR = '127.0.0.1:15000';
export const DEFAULT_STATS_ADDR = '0.0.0.0:15020';
export const DEFAULT_READINESS_ADDR = '0.0.0.0:15021';
export const DEFAULT_BPF_INSTANCE = 'default';
export const DEFAULT_BPFFS_ROOT = '/sys/fs/bpf';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_ROOT_CERT_FILE = '/var/run/secrets/istio/root-cert.pem';
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/tokens/istio-token';
/** The workload certificate lifetime asked of the CA (ztunnel's SECRET_TTL default); istiod may shorten it. */
export const DEFAULT_SECRET_TTL = '24h';
/** The environment variable ztunnel reads the requested lifetime from, the fallback of --secret-ttl. */
export const SECRET_TTL_ENV = 'SECRET_TTL';
export { DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS, DEFAULT_HBONE_MAX_CONNECTIONS, DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION, DEFAULT_MAX_PENDING_HBONE_ACCEPTS };
export const DEFAULT_HBONE_MAX_HEADER_LIST_BYTES = HBONE_SERVER_MAX_HEADER_LIST_BYTES;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ZtunnelConfig {
  readonly nodeName: string;
  readonly podName: string;
  readonly podNamespace: string;
  readonly instanceIp: string;
  /** istiod's xDS address (`host:port`). */
  readonly xdsAddress: string;
  /** istiod's CA address; the CA is only served over TLS. */
  readonly caAddress: string;
  /** Plaintext xDS (istiod's 15010), for the local cluster only. */
  readonly xdsPlaintext: boolean;
  /** The name istiod's serving certificate must carry (verified against the mesh root). */
  readonly istiodServerName: string;
  /** The mesh root bundle (PEM) trusted for istiod and for peers. */
  readonly rootCertPem: string;
  readonly token: string | undefined;
  readonly trustDomain: string;
  readonly clusterId: string;
  readonly bpfInstance: string;
  readonly bpffsRoot: string;
  readonly enrollSocket: string;
  readonly recordsFile: string;
  /** The enrollment socket's limits (idle timeout, frame size, connections, pod cgroup root). */
  readonly enrollLimits: EnrollmentLimits;
  readonly adminAddr: HostPort;
  readonly statsAddr: HostPort;
  readonly readinessAddr: HostPort;
  readonly connectTimeoutMs: number;
  /** The validity asked for in each CSR (SECRET_TTL); the CA caps it at its --max-cert-ttl. */
  readonly secretTtlSeconds: number;
  /** Limits of each pod's HBONE listener (15008). */
  readonly hboneLimits: HboneListenerLimits;
}

export interface HboneListenerLimits {
  /** TLS handshake deadline; also how long a connection waits for the pod's certificate. */
  readonly handshakeTimeoutMs: number;
  /** Concurrent connections per pod. */
  readonly maxConnections: number;
  /** Concurrent CONNECT streams per connection. */
  readonly maxStreamsPerConnection: number;
  /** Connections held while the pod's certificate is not ready. */
  readonly maxPendingAccepts: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE. */
  readonly maxHeaderListBytes: number;
}

export class ZtunnelConfigError extends AmbitError {}

export function parseAddr(flag: string, value: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} "${value}": not host:port (port 0..65535)`);
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** The `host` part of `host:port`, for the TLS server name default. */
export function hostOf(address: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):\d+$/.exec(address);
  return m?.[1] ?? m?.[2] ?? address;
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * A duration as Go's time.ParseDuration writes them (`60s`, `30m`, `24h`,
 * `1h30m`, `1.5h`, `500ms`), in milliseconds; it must be positive. Throws
 * ZTUNNEL_BAD_FLAG naming `flag`.
 */
export function parseDurationMs(flag: string, value: string): number {
  const text = value.trim();
  let totalMs = 0;
  let pos = 0;
  while (pos < text.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(text);
    if (m === null) break;
    totalMs += Number(m[1]) * (DURATION_UNIT_MS[m[2] as string] as number);
    pos = DURATION_PART.lastIndex;
  }
  if (text === '' || pos !== text.length) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} "${value}": not a duration (e.g. 60s, 30m, 24h, 1h30m)`);
  }
  if (!(totalMs > 0) || !Number.isFinite(totalMs)) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} "${value}": must be longer than zero`);
  }
  return totalMs;
}

/** A certificate lifetime in whole seconds (at least 1 s). */
export function parseTtlSeconds(flag: string, value: string): number {
  const ms = parseDurationMs(flag, value);
  if (ms < 1000) throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} "${value}": must be at least 1s`);
  return Math.floor(ms / 1000);
}

export function requireNonEmpty(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} is required`);
  }
  return value.trim();
}

/** A whole number in `min..max`, for count and millisecond flags. */
export function parseIntFlag(flag: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} "${value}": not a whole number in ${min}..${max}`);
  }
  return n;
}
