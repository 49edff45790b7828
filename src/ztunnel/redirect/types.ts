import type net from 'node:net';

import { PORT_HBONE } from '../../shared/ports-and-limits.js';

export { PACKET_MARK, PORT_HBONE, PORT_INBOUND_PLAINTEXT, PORT_OUTBOUND } from '../../shared/ports-and-limits.js';

/** Addresses an in-pod listener may bind. `::` is dual-stack. */
export type ListenAddress = '127.0.0.1' | '::1' | '0.0.0.0' | '::';

export interface RedirectOptions {
  /** Names the pin directory `<bpffsRoot>/ambit/<instance>`; [A-Za-z0-9_.-], 1–64 chars. */
  readonly instance: string;
  /** Where bpffs is (mounted there if it is not yet). Default `/sys/fs/bpf`. */
  readonly bpffsRoot?: string;
  /** Directory holding the compiled `*.bpf.o`. Default: the package's `build/Release/bpf`. */
  readonly objectDir?: string;
}

/** TCP keepalive: SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT. */
export interface TcpKeepalive {
  /** Idle time before the first probe (TCP_KEEPIDLE). */
  readonly idleSeconds: number;
  /** Time between probes (TCP_KEEPINTVL). */
  readonly intervalSeconds: number;
  /** Unanswered probes before the connection is dropped (TCP_KEEPCNT). */
  readonly count: number;
}

/**
 * ztunnel's socket defaults for its HBONE connections (keepalive 180 s idle,
 * 180 s between probes, 9 probes), so NAT and load-balancer idle timeouts
 * (Google's are 10 min) do not drop a quiet tunnel.
 */
export const HBONE_KEEPALIVE: TcpKeepalive = Object.freeze({ idleSeconds: 180, intervalSeconds: 180, count: 9 });

/**
 * TCP_USER_TIMEOUT as ztunnel derives it: idle + count x interval (30 min
 * with the defaults). Unacknowledged data older than this aborts the
 * connection, so a peer that vanished while we were sending is noticed
 * even though keepalive probes only run on an idle connection.
 */
export const HBONE_USER_TIMEOUT_MS =
  (HBONE_KEEPALIVE.idleSeconds + HBONE_KEEPALIVE.count * HBONE_KEEPALIVE.intervalSeconds) * 1000;

export interface SocketOptions {
  /** SO_MARK; default {@link PACKET_MARK}. */
  readonly mark?: number;
  /** IP_TRANSPARENT / IPV6_TRANSPARENT; default false for listeners and connects. */
  readonly transparent?: boolean;
  /** SO_REUSEPORT on listeners; default true (Istio's INPOD_PORT_REUSE). */
  readonly reusePort?: boolean;
  /** listen() backlog; default 511. */
  readonly backlog?: number;
  /**
   * TCP keepalive; on a listener, every accepted socket inherits it. Default
   * off, except on a {@link PORT_HBONE} listener: {@link HBONE_KEEPALIVE}.
   */
  readonly keepalive?: TcpKeepalive;
  /** TCP_USER_TIMEOUT in ms, inherited like keepalive. Default unset, on a {@link PORT_HBONE} listener {@link HBONE_USER_TIMEOUT_MS}. */
  readonly userTimeoutMs?: number;
}

/** What {@link Redirect.connectInPod} takes on top of the socket options. */
export interface ConnectOptions extends SocketOptions {
  /** Gives up (destroying the socket) after this long; default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Gives up when aborted, e.g. by the caller's own deadline. */
  readonly signal?: AbortSignal;
}

/** How long a connect from inside a pod may take unless told otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** The options of an HBONE dial from inside a pod: ztunnel's keepalive and user timeout. */
export const HBONE_SOCKET_OPTIONS: SocketOptions = Object.freeze({
  keepalive: HBONE_KEEPALIVE,
  userTimeoutMs: HBONE_USER_TIMEOUT_MS,
});

/** The {@link SocketOptions} a listener on `port` gets by default. */
export function defaultListenerTuning(port: number): Pick<SocketOptions, 'keepalive' | 'userTimeoutMs'> {
  return port === PORT_HBONE ? HBONE_SOCKET_OPTIONS : {};
}

export interface PodEnrollment {
  /** The pod UID (Kubernetes metadata.uid); the enrollment's identity. */
  readonly uid: string;
  /** The pod's cgroup v2 directory, e.g. `/sys/fs/cgroup/unified/kubepods/pod<uid>`. */
  readonly cgroupPath: string;
  /** The pod's network namespace file, e.g. `/var/run/netns/<name>`. */
  readonly netnsPath: string;
  /** The pod's IP addresses (inbound capture is keyed by them; unique in the cluster). */
  readonly ips: readonly string[];
  /** A listening TCP socket inside the pod netns (from {@link Redirect.listenInPod}), port 15006. */
  readonly inboundListenerFd: number;
  /** Destination ports never captured (outbound) and local ports never captured (inbound). At most 16. */
  readonly excludedPorts?: readonly number[];
  /** Outbound destinations never captured, `a.b.c.d/n` or `x::/n`. At most 8. */
  readonly excludedCidrs?: readonly string[];
}

export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** A pod as recorded in the pinned maps. */
export interface EnrolledPod {
  readonly uid: string;
  readonly netnsCookie: bigint;
  readonly cgroupId: bigint;
  readonly ips: readonly string[];
  readonly excludedPorts: readonly number[];
  readonly excludedCidrs: readonly string[];
  /** Whether the inbound listener is in the sockhash (false while the agent is down: inbound fails closed). */
  readonly inboundListener: boolean;
  /** Pinned links present for this pod, by attach point. */
  readonly links: readonly ('connect4' | 'connect6' | 'sockops' | 'sk_lookup')[];
}

/** Counter names, in the order of `enum ambit_counter` in bpf/ambit_shared.h. */
export const COUNTER_NAMES = [
  'connectRedirected',
  'connectPassNotEnrolled',
  'connectPassLoopback',
  'connectPassExcludedPort',
  'connectPassExcludedCidr',
  'connectPassNotTcp',
  'connectRecordFailed',
  'sockopsRecorded',
  'sockopsMissed',
  'lookupAssigned',
  'lookupPassLoopback',
  'lookupPassHbone',
  'lookupPassExcludedPort',
  'lookupPassUnknownAddress',
  'lookupDropNoListener',
  'lookupDropAssignFailed',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
/** Decisions counted by reason, summed over CPUs. */
export type RedirectCounters = Readonly<Record<CounterName, number>>;

export interface RedirectStatus {
  readonly instance: string;
  readonly pinDir: string;
  /** Whether the maps and programs are pinned. */
  readonly pinned: boolean;
  readonly programs: readonly string[];
  readonly maps: readonly string[];
  readonly pods: readonly EnrolledPod[];
  readonly counters: RedirectCounters;
}

export interface Redirect {
  readonly instance: string;
  readonly pinDir: string;
  /** A listening TCP socket inside the netns; returns its fd for `server.listen({ fd })`. */
  listenInPod(netnsPath: string, address: ListenAddress, port: number, options?: SocketOptions): Promise<number>;
  /**
   * A TCP connection made from inside the netns (so its source is the pod's
   * address). Only socket() runs in the netns; the connect itself runs on the
   * event loop and the promise settles on 'connect', on an error, or when
   * `timeoutMs` or `signal` gives up (the socket is destroyed then).
   */
  connectInPod(netnsPath: string, address: string, port: number, options?: ConnectOptions): Promise<net.Socket>;
  /** Attaches capture to the pod and records it. Idempotent; a changed netns or listener replaces the old one. */
  enrollPod(pod: PodEnrollment): Promise<void>;
  /** Detaches capture and forgets the pod. Unknown pods are ignored. */
  unenrollPod(pod: string | Pick<PodEnrollment, 'uid'>): Promise<void>;
  /**
   * The destination the app asked for, for a socket accepted on the in-pod
   * 15001 listener of the pod whose netns is `netnsPath` (a listener made by
   * {@link listenInPod}): looked up by the connection's 4-tuple, which the
   * sockops program recorded with the pod's netns cookie.
   */
  originalDestination(socket: net.Socket, netnsPath: string): OriginalDestination | undefined;
  enrolledPods(): EnrolledPod[];
  counters(): RedirectCounters;
  status(): RedirectStatus;
  /** Closes this process's fds; pins (and so capture) stay. */
  close(): void;
}
