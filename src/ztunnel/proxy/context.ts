/**
 * What the proxy handlers share: the agent's state and services, behind
 * small interfaces so that each handler can be tested with real sockets and
 * without the eBPF layer.
 */
import type net from 'node:net';
import type { Logger } from '../../shared/logging.js';
import { parseSpiffeId, type SpiffeId } from '../../shared/spiffe.js';
import type { PolicySet, WorkloadPolicyRef } from '../authz/index.js';
import { parseIp } from '../authz/index.js';
import type { HbonePool, TlsMaterial } from '../hbone/index.js';
import type { Workload, WorkloadStore } from '../state/index.js';
import type { ProxyGuards, TrafficMetrics, WorkloadDescriptor } from '../telemetry/index.js';
import type { ProxyLimits } from './limits.js';
import { AGENT_DATA_PORTS } from '../../shared/ports-and-limits.js';

/** A pod enrolled on this node, as the proxy needs it. */
export interface LocalPod {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly netnsPath: string;
  readonly ips: readonly string[];
}

/** Where the proxy gets sockets: inside a pod's network namespace, and original destinations. */
export interface PodSockets {
  /**
   * A TCP connection made from inside the pod's netns (so its source is the
   * pod's IP). `purpose` 'hbone' is a tunnel to a peer's 15008, which gets
   * ztunnel's TCP keepalive and TCP_USER_TIMEOUT; 'app' (the default) a plain upstream.
   */
  connectInPod(pod: LocalPod, ip: string, port: number, purpose?: 'app' | 'hbone'): Promise<net.Socket>;
  /** The address the app connected to, for a socket accepted on the pod's in-pod 15001 listener. */
  originalDestination(socket: net.Socket, pod: LocalPod): { readonly address: string; readonly port: number } | undefined;
  /**
   * The address an inbound plaintext client meant to reach. With sk_lookup
   * this is simply the accepted socket's local address.
   */
  inboundDestination(socket: net.Socket): { readonly address: string; readonly port: number };
}

/** Workload certificates by SPIFFE identity (fetched on demand, cached by the manager). */
export interface WorkloadCertificates {
  fetchMaterial(identity: string): Promise<TlsMaterial>;
}

export interface ProxyContext {
  readonly store: WorkloadStore;
  readonly policies: PolicySet;
  readonly certificates: WorkloadCertificates;
  readonly pool: HbonePool;
  readonly sockets: PodSockets;
  readonly metrics: TrafficMetrics;
  readonly logger: Logger;
  /** The agent's network ('' by default). */
  readonly network: string;
  readonly trustDomain: string;
  readonly clusterId: string;
  /** Connect timeout for plain TCP upstreams. */
  readonly connectTimeoutMs: number;
  /** Early denies and limit hits are counted here (none counted when absent). */
  readonly guards?: ProxyGuards;
  /** Listener limits; the defaults of `limits.ts` where absent. */
  readonly limits?: Partial<ProxyLimits>;
}

/** ztunnel's own ports: traffic aimed at them is a loop and is refused. */
export const ILLEGAL_PORTS: ReadonlySet<number> = new Set(AGENT_DATA_PORTS);

/** The store's workload for an enrolled pod: by its IPs, else by its Kubernetes name. */
export function workloadOfPod(ctx: ProxyContext, pod: LocalPod): Workload | undefined {
  for (const ip of pod.ips) {
    const bytes = parseIp(ip);
    const w = bytes === undefined ? undefined : ctx.store.findWorkloadByAddress(ctx.network, bytes);
    if (w !== undefined) return w;
  }
  return ctx.store.findWorkload(`${ctx.clusterId}//Pod/${pod.namespace}/${pod.name}`);
}

/**
 * The pod's policy attachment read at each use, not copied: a live
 * connection re-checked after a push must see the workload's new
 * `authorization_policies`, not the list it had when it connected.
 */
export function livePolicyRef(ctx: ProxyContext, pod: LocalPod): WorkloadPolicyRef {
  return {
    get namespace(): string {
      return workloadOfPod(ctx, pod)?.namespace ?? pod.namespace;
    },
    get authorizationPolicies(): readonly string[] {
      return workloadOfPod(ctx, pod)?.authorizationPolicies ?? [];
    },
  };
}

export function workloadByIp(ctx: ProxyContext, ip: string): Workload | undefined {
  const bytes = parseIp(normalizeIp(ip));
  return bytes === undefined ? undefined : ctx.store.findWorkloadByAddress(ctx.network, bytes);
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) -> `10.0.0.1`. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
}

export function describeWorkload(w: Workload | undefined): WorkloadDescriptor | undefined {
  if (w === undefined) return undefined;
  return {
    name: w.name,
    namespace: w.namespace,
    workloadName: w.workloadName,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    clusterId: w.clusterId,
    identity: w.identity,
  };
}

/** A descriptor for an enrolled pod the store does not know (yet). */
export function describePod(pod: LocalPod, clusterId: string): WorkloadDescriptor {
  return {
    name: pod.name,
    namespace: pod.namespace,
    workloadName: '',
    canonicalName: '',
    canonicalRevision: '',
    clusterId,
    identity: undefined,
  };
}

export function spiffeOrUndefined(uri: string | undefined): SpiffeId | undefined {
  if (uri === undefined) return undefined;
  try {
    return parseSpiffeId(uri);
  } catch {
    return undefined;
  }
}

/** `ip:port`, with brackets for IPv6. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
