import type net from 'node:net';

/** The agent's in-pod outbound listener port: captured `connect()`s land here. */
export const PORT_OUTBOUND = 15001;
/** The agent's in-pod inbound plaintext listener port: sk_lookup assigns inbound TCP here. */
export const PORT_INBOUND_PLAINTEXT = 15006;
/** HBONE: never captured inbound, reached on the agent's own in-pod listener. */
export const PORT_HBONE = 15008;
/** The mark Istio's ztunnel puts on its in-pod sockets (0x539). */
export const PACKET_MARK = 0x539;

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

export interface SocketOptions {
  /** SO_MARK; default {@link PACKET_MARK}. */
  readonly mark?: number;
  /** IP_TRANSPARENT / IPV6_TRANSPARENT; default false for listeners and connects. */
  readonly transparent?: boolean;
  /** SO_REUSEPORT on listeners; default true (Istio's INPOD_PORT_REUSE). */
  readonly reusePort?: boolean;
  /** listen() backlog; default 511. */
  readonly backlog?: number;
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
  /** A TCP socket connected from inside the netns; returns its fd for `new net.Socket({ fd })`. */
  connectInPod(netnsPath: string, address: string, port: number, options?: SocketOptions): Promise<number>;
  /** Attaches capture to the pod and records it. Idempotent; a changed netns or listener replaces the old one. */
  enrollPod(pod: PodEnrollment): Promise<void>;
  /** Detaches capture and forgets the pod. Unknown pods are ignored. */
  unenrollPod(pod: string | Pick<PodEnrollment, 'uid'>): Promise<void>;
  /** The destination the app asked for, for a socket accepted on the in-pod 15001 listener. */
  originalDestination(socket: net.Socket): OriginalDestination | undefined;
  enrolledPods(): EnrolledPod[];
  counters(): RedirectCounters;
  status(): RedirectStatus;
  /** Closes this process's fds; pins (and so capture) stay. */
  close(): void;
}
