/**
 * The inbound plaintext path (in-pod 15006): connections sk_lookup steered
 * here keep their original destination as the local address. They carry no
 * identity, so a STRICT PeerAuthentication (converted by istiod into a DENY
 * of connections without a principal) refuses them; otherwise they are
 * authorized by address and port and forwarded to the app.
 */
import type net from 'node:net';
import { errorMessage } from '../../shared/errors.js';
import { prepareConnection } from '../authz/index.js';
import { NO_GUARDS, ResponseFlag } from '../telemetry/index.js';
import {
  ILLEGAL_PORTS,
  livePolicyRef,
  describePod,
  describeWorkload,
  hostPort,
  normalizeIp,
  workloadByIp,
  workloadOfPod,
  type LocalPod,
  type ProxyContext,
} from './context.js';
import { abort, resetSocket, splice, whenClosed } from './copy.js';
import { denyEarly } from './early-deny.js';
import { dialUpstream } from './upstream.js';
import type { LiveInbound } from './live-inbound.js';

export function handleInboundPlaintext(ctx: ProxyContext, pod: LocalPod, live: LiveInbound, socket: net.Socket): void {
  socket.on('error', () => undefined); // reported through the connection result
  const sink = { guards: ctx.guards ?? NO_GUARDS, logger: ctx.logger };
  // A client that connected and reset at once has no address any more.
  if (socket.remoteAddress === undefined || socket.destroyed) {
    denyEarly(sink, socket, 'no_peer_address', { pod: pod.name, direction: 'inbound' });
    return;
  }
  socket.setNoDelay(true);
  const original = ctx.sockets.inboundDestination(socket);
  const dstIp = normalizeIp(original.address);
  const dstPort = original.port;
  const srcIp = normalizeIp(socket.remoteAddress);
  if (ILLEGAL_PORTS.has(dstPort) || !pod.ips.includes(dstIp)) {
    denyEarly(sink, socket, ILLEGAL_PORTS.has(dstPort) ? 'proxy_loop' : 'unexpected_destination', { pod: pod.name, dst: hostPort(dstIp, dstPort) });
    return;
  }
  const destination = workloadOfPod(ctx, pod);
  const source = workloadByIp(ctx, srcIp);
  const result = ctx.metrics.open(
    {
      reporter: 'destination',
      ...(source !== undefined ? { source: describeWorkload(source) } : {}),
      destination: describeWorkload(destination) ?? describePod(pod, ctx.clusterId),
      connectionSecurityPolicy: 'unknown',
    },
    { src: hostPort(srcIp, socket.remotePort ?? 0), dst: hostPort(dstIp, dstPort), remoteTarget: hostPort(dstIp, dstPort), protocol: 'TCP' },
  );
  // From here on the result is closed exactly once, however the connection ends.
  let copying = false;
  const clientGone = new AbortController();
  whenClosed(socket, () => {
    if (copying) return;
    const reason = new Error('the client closed before the upstream was ready');
    clientGone.abort(reason);
    result.close(ResponseFlag.Connect, reason);
  });
  const fail = (flag: ResponseFlag, err: unknown): void => {
    resetSocket(socket);
    result.close(flag, err);
  };
  let connection;
  let workloadRef;
  try {
    connection = prepareConnection({ sourceIp: srcIp, destinationIp: dstIp, destinationPort: dstPort });
    workloadRef = livePolicyRef(ctx, pod);
    const decision = ctx.policies.check(workloadRef, connection);
    if (decision.kind === 'deny') {
      ctx.logger.info({ src: srcIp, dst: hostPort(dstIp, dstPort), policy: decision.policy, reason: decision.reason }, 'plaintext connection denied');
      fail(ResponseFlag.Deny, undefined);
      return;
    }
  } catch (err) {
    ctx.logger.error({ err: errorMessage(err), src: srcIp, dst: hostPort(dstIp, dstPort) }, 'inbound plaintext set-up failed');
    fail(ResponseFlag.Connect, err);
    return;
  }
  const ref = workloadRef;
  const conn = connection;
  dialUpstream(() => ctx.sockets.connectInPod(pod, dstIp, dstPort), hostPort(dstIp, dstPort), ctx.connectTimeoutMs, clientGone.signal).then(
    (upstream) => {
      if (clientGone.signal.aborted || socket.destroyed) {
        abort(upstream);
        result.close(ResponseFlag.Connect, new Error('client went away'));
        return;
      }
      copying = true;
      const entry = live.add({ workload: ref, connection: conn, destroy: () => resetSocket(socket) });
      splice(
        socket,
        upstream,
        (direction, n) => (direction === 'in' ? result.recordReceived(n) : result.recordSent(n)),
        (r) => {
          live.remove(entry);
          result.close(entry.revoked ? ResponseFlag.Deny : ResponseFlag.None, r.error);
        },
      );
    },
    (err: unknown) => fail(ResponseFlag.Connect, err),
  );
}
