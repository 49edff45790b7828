/**
 * Names inside the pods: Services get a cluster IP from 10.96.0.0/16 (the
 * Kubernetes default service range; never routed — capture rewrites it in
 * the pod) and every pod gets a hosts file with each Service's names, as
 * cluster DNS would answer them (`name` in the pod's own namespace,
 * `name.namespace`, `name.namespace.svc`, `name.namespace.svc.cluster.local`).
 */
import { fnv1a32 } from './pod-names.js';
import type { ServiceName } from './desired.js';

/** 10.96.0.0/16 without .0.x (reserved for the fixed demo VIPs and the network address). */
const SERVICE_RANGE_BASE = (10 << 24) | (96 << 16);
const SERVICE_RANGE_SIZE = 1 << 16;
const FIRST_ALLOCATED = 256;
const DOMAIN = 'svc.cluster.local';

function ipOf(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * A cluster IP for `namespace/name`, stable across applies (from a hash of
 * the name) and distinct from every IP in `taken`.
 */
export function allocateClusterIp(namespace: string, name: string, taken: ReadonlySet<string>): string {
  const span = SERVICE_RANGE_SIZE - FIRST_ALLOCATED - 1;
  const start = fnv1a32(`${namespace}/${name}`) % span;
  for (let i = 0; i < span; i++) {
    const ip = ipOf(SERVICE_RANGE_BASE + FIRST_ALLOCATED + ((start + i) % span));
    if (!taken.has(ip)) return ip;
  }
  throw new Error('the service range 10.96.0.0/16 is full');
}

/** The hosts file of a pod in `podNamespace`. */
export function hostsFile(pod: { readonly name: string; readonly namespace: string; readonly ip: string }, services: readonly ServiceName[]): string {
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost', `${pod.ip} ${pod.name}`];
  const sorted = [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const s of sorted) {
    const names = [`${s.name}.${s.namespace}.${DOMAIN}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}`];
    if (s.namespace === pod.namespace) names.push(s.name);
    lines.push(`${s.clusterIp} ${names.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
