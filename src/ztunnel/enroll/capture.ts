/**
 * What enrollment needs from the capture layer, kept as an interface of its
 * own so the protocol and the registry are tested without eBPF (tests pass a
 * fake) and the redirect module is wired in by an adapter.
 */
import type net from 'node:net';

/** Addresses an in-pod listener binds; `::` is dual-stack. */
export type ListenAddress = '127.0.0.1' | '::1' | '0.0.0.0' | '::';

/** What redirection needs to know about a pod. */
export interface CaptureTarget {
  readonly uid: string;
  readonly netnsPath: string;
  readonly cgroupPath: string;
  readonly ips: readonly string[];
}

export interface PodCapture {
  /** A listening TCP server whose socket lives inside the pod's network namespace. */
  listen(netnsPath: string, address: ListenAddress, port: number): Promise<net.Server>;
  /**
   * Attaches redirection to the pod: outbound connects go to its 15001
   * listeners, inbound TCP to `inbound` (a server made by listen()).
   * Idempotent; a changed netns or inbound listener replaces the old one.
   */
  attach(pod: CaptureTarget, inbound: net.Server): Promise<void>;
  /** Removes the pod's redirection; unknown pods are ignored. */
  detach(uid: string): Promise<void>;
  /** UIDs the capture layer holds, including what survived an agent restart. */
  attachedUids(): readonly string[];
}
