/**
 * istiod's process configuration: one frozen object built at start-up from
 * flags. Each default is a named constant; a bad value fails with the flag,
 * the value and the reason.
 */
import { AmbitError } from '../shared/errors.js';

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local';
/**
 * Plaintext gRPC (xDS), not authenticated (as istiod's 15010): loopback only
 * by default, for clients on the same host (debug tools, tests). Anything
 * that crosses a network uses the TLS port.
 */
export const DEFAULT_GRPC_ADDR = '127.0.0.1:15010';
/** TLS gRPC: xDS (every stream authenticated: node token, TokenReview or mesh certificate) and the CA. */
export const DEFAULT_SECURE_GRPC_ADDR = '0.0.0.0:15012';
/** HTTP: /metrics, /debug/*, /ready. */
export const DEFAULT_MONITORING_ADDR = '0.0.0.0:15014';
export const DEFAULT_CA_DIR = '/var/lib/ambit/ca';
export const DEFAULT_WORKLOAD_CERT_TTL_SECONDS = 24 * 3600;
export const DEFAULT_MAX_WORKLOAD_CERT_TTL_SECONDS = 90 * 24 * 3600;
export const DEFAULT_PUSH_DEBOUNCE_MS = 100;
export const DEFAULT_CONFIG_DEBOUNCE_MS = 100;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where istiod finds the Kubernetes API server. */
export interface KubernetesSourceConfig {
  /** A kubeconfig file; absent = the in-cluster configuration (or $KUBECONFIG, ~/.kube/config outside a pod). */
  readonly kubeconfig?: string | undefined;
}

export interface IstiodConfig {
  /** A directory of YAML/JSON config, watched; optional when `kubernetes` is set (both may be). */
  readonly configDir?: string | undefined;
  /** Watch a Kubernetes API server (Namespaces, Pods, Services, EndpointSlices, ServiceAccounts, Istio CRDs). */
  readonly kubernetes?: KubernetesSourceConfig | undefined;
  readonly caDir: string;
  readonly trustDomain: string;
  /** Bootstrap tokens file (token -> node name) for CA callers; absent = every CA call is refused. */
  readonly tokensFile: string | undefined;
  readonly rootNamespace: string;
  readonly clusterId: string;
  readonly domainSuffix: string;
  readonly grpcAddr: HostPort;
  readonly secureGrpcAddr: HostPort;
  readonly monitoringAddr: HostPort;
  /** HTTPS listener of the validating admission webhook (with `kubernetes`); absent = no webhook. */
  readonly webhookAddr?: HostPort | undefined;
  readonly workloadCertTtlSeconds: number;
  readonly maxWorkloadCertTtlSeconds: number;
  readonly pushDebounceMs: number;
  readonly configDebounceMs: number;
}

export class IstiodConfigError extends AmbitError {}

/** Parses "host:port", ":port" or "[v6]:port"; port 0 asks the kernel for a free one. */
export function parseHostPort(flag: string, value: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new IstiodConfigError('ISTIOD_BAD_FLAG', `${flag} "${value}": not host:port (port 0..65535)`);
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function parseSeconds(flag: string, value: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new IstiodConfigError('ISTIOD_BAD_FLAG', `${flag} "${value}": not a duration (e.g. 3600, 90s, 30m, 24h, 90d)`);
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (n <= 0) throw new IstiodConfigError('ISTIOD_BAD_FLAG', `${flag} "${value}": must be positive`);
  return n * unit;
}

/** Whether a listen host is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export function validateIstiodConfig(c: IstiodConfig): IstiodConfig {
  if (c.configDir === undefined && c.kubernetes === undefined) {
    throw new IstiodConfigError('ISTIOD_BAD_FLAG', '--config-dir is required unless --kubernetes is given');
  }
  if (c.workloadCertTtlSeconds > c.maxWorkloadCertTtlSeconds) {
    throw new IstiodConfigError(
      'ISTIOD_BAD_FLAG',
      `--cert-ttl ${c.workloadCertTtlSeconds}s is longer than --max-cert-ttl ${c.maxWorkloadCertTtlSeconds}s`,
    );
  }
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(c.trustDomain)) {
    throw new IstiodConfigError('ISTIOD_BAD_FLAG', `--trust-domain "${c.trustDomain}": not a DNS-like trust domain`);
  }
  return Object.freeze({ ...c });
}
