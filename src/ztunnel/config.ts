/**
 * The node agent's process configuration: one frozen object built at
 * start-up from flags and environment (NODE_NAME, POD_NAME, POD_NAMESPACE,
 * INSTANCE_IP as the DaemonSet sets them). Defaults are named constants.
 */
import { AmbitError } from '../shared/errors.js';
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

/** A flag that must be a positive integer. */
export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} "${value}": not a positive integer`);
  }
  return n;
}

export function requireNonEmpty(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} is required`);
  }
  return value.trim();
}
