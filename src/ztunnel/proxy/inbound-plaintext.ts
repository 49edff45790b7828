/**
 * The inbound plaintext path (in-pod 15006): connections sk_lookup steered
 * here keep their original destination as the local address. They carry no
 * identity, so a STRICT PeerAuthentication (converted by istiod into a DENY
 * of connections without a principal) refuses them; otherwise they are
 * authorized by address and port and forwarded to the app.
 */
import type net from 'node:net';
import { prepareConnection } from '../authz/index.js';
import { splice } from '../hbone/index.js';
import { ResponseFlag } from '../telemetry/index.js';
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
import { connectWithTimeout } from './upstream.js';
import type { LiveInbound } from './live-inbound.js';

export function handleInboundPlaintext(ctx: ProxyContext, pod: LocalPod, live: LiveInbound, socket: net.Socket): void {
  socket.on('error', () => undefined);
  socket.setNoDelay(true);
  const original = ctx.sockets.inboundDestination(socket);
  const dstIp = normalizeIp(original.address);
  const dstPort = original.port;
  const srcIp = normalizeIp(socket.remoteAddress ?? '');
  if (ILLEGAL_PORTS.has(dstPort) || !pod.ips.includes(dstIp)) {
    ctx.logger.warn({ pod: pod.name, dst: hostPort(dstIp, dstPort) }, 'inbound plaintext to an unexpected address refused');
    socket.resetAndDestroy();
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
  const connection = prepareConnection({ sourceIp: srcIp, destinationIp: dstIp, destinationPort: dstPort });
  const workloadRef = livePolicyRef(ctx, pod);
  const decision = ctx.policies.check(workloadRef, connection);
  if (decision.kind === 'deny') {
    ctx.logger.info({ src: srcIp, dst: hostPort(dstIp, dstPort), policy: decision.policy, reason: decision.reason }, 'plaintext connection denied');
    socket.resetAndDestroy();
    result.close(ResponseFlag.Deny);
    return;
  }
  connectWithTimeout(ctx.sockets.connectInPod(pod, dstIp, dstPort), ctx.connectTimeoutMs).then(
    (upstream) => {
      if (socket.destroyed) {
        upstream.destroy();
        result.close(ResponseFlag.Connect, new Error('client went away'));
        return;
      }
      const entry = live.add({ workload: workloadRef, connection, destroy: () => socket.destroy() });
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
    (err: unknown) => {
      socket.resetAndDestroy();
      result.close(ResponseFlag.Connect, err);
    },
  );
}
