/**
 * Traffic capture for enrolled pods: eBPF programs in each pod's cgroup and
 * network namespace steer the pod's TCP to the node agent's in-pod listeners
 * (outbound to 15001, inbound plaintext to 15006; 15008 is reached directly).
 *
 * This is the only module that talks to the native addon. State lives in
 * pinned maps and links under `<bpffsRoot>/ambit/<instance>/`, so capture
 * survives an agent restart and fails closed while no listener exists.
 *
 * Keys: outbound state is keyed by the pod's netns cookie (connect4/6 and
 * sockops can read it; the pod's processes may sit in child cgroups). The
 * inbound listener is found by destination pod IP -> netns cookie, because
 * sk_lookup programs cannot read the netns cookie and pod IPs are unique.
 * sk_lookup lets through traffic whose source is loopback or the same pod's
 * own address: so the agent must reach the app from the pod IP (the default
 * for a socket from {@link Redirect.connectInPod}), not from a spoofed
 * (IP_TRANSPARENT) client address, which would be captured again.
 *
 * ```ts
 * const redirect = await openRedirect({ instance: 'node-a' });
 * const fd15001 = await redirect.listenInPod(netnsPath, '::', 15001);
 * const fd15006 = await redirect.listenInPod(netnsPath, '::', 15006);
 * net.createServer(onOutbound).listen({ fd: fd15001 });
 * net.createServer(onInbound).listen({ fd: fd15006 });
 * await redirect.enrollPod({ uid, cgroupPath, netnsPath, ips, inboundListenerFd: fd15006 });
 * // in onOutbound(socket): redirect.originalDestination(socket, netnsPath) -> { address, port, family }
 * const upstream = await redirect.connectInPod(netnsPath, '10.0.0.5', 8080, { timeoutMs: 5000 });
 * ```
 */
export type {
  ConnectOptions,
  CounterName,
  EnrolledPod,
  ListenAddress,
  OriginalDestination,
  PodEnrollment,
  Redirect,
  RedirectCounters,
  RedirectOptions,
  RedirectStatus,
  SocketOptions,
  TcpKeepalive,
} from './types.js';
export {
  COUNTER_NAMES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  HBONE_KEEPALIVE,
  HBONE_SOCKET_OPTIONS,
  HBONE_USER_TIMEOUT_MS,
  PACKET_MARK,
  PORT_OUTBOUND,
  PORT_INBOUND_PLAINTEXT,
  PORT_HBONE,
} from './types.js';
export { RedirectError, type RedirectErrorCode, type NativeError, isNativeError } from './errors.js';
export { openRedirect, readRedirectStatus, destroyInstance, instancePinDir, DEFAULT_BPFFS_ROOT } from './redirect.js';
export { registerRedirectMetrics, REDIRECT_DECISIONS_METRIC, COUNTER_LABELS } from './metrics.js';
