/**
 * The request headers an HBONE CONNECT carries besides :authority
 * (reference §2.2): baggage describing the source workload, forwarded with
 * the client address (and the service host when service-addressed), and a
 * W3C traceparent.
 */
import { randomBytes } from 'node:crypto';
import type { Workload } from '../state/index.js';
import { hostPort } from './context.js';

export function baggageFor(source: Workload | undefined, clusterId: string): string {
  if (source === undefined) return '';
  const items: [string, string][] = [
    ['k8s.cluster.name', source.clusterId || clusterId],
    ['k8s.namespace.name', source.namespace],
    [`k8s.${source.workloadType}.name`, source.workloadName || source.name],
    ['service.name', source.canonicalName],
    ['service.version', source.canonicalRevision],
    ['cloud.region', source.locality?.region ?? ''],
    ['cloud.availability_zone', source.locality?.zone ?? ''],
  ];
  return items
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function forwardedFor(clientIp: string, clientPort: number, serviceHost: string | undefined): string {
  const base = `for="${hostPort(clientIp, clientPort)}"`;
  return serviceHost === undefined ? base : `${base};host=${serviceHost}`;
}

/** A fresh W3C traceparent: version 00, random trace and parent ids, not sampled. */
export function newTraceparent(): string {
  const b = randomBytes(24);
  return `00-${b.subarray(0, 16).toString('hex')}-${b.subarray(16).toString('hex')}-00`;
}

/** The `host=` of a forwarded header, which names the service a tunnel was addressed to. */
export function forwardedHost(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value === undefined ? null : /(?:^|;)\s*host=("?)([^;",]+)\1/i.exec(value);
  return m?.[2];
}
