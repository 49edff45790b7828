/**
 * The inbound HBONE path (in-pod 15008): for each CONNECT the pod's HBONE
 * server verified, check that the target is this pod, authorize the peer's
 * identity against the pod's L4 policies, connect to the app inside the pod
 * and answer 200; refusals answer 400/401/503 on the stream.
 */
import { prepareConnection } from '../authz/index.js';
import type { HboneAnswer, HboneRequest } from '../hbone/index.js';
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
import { forwardedHost } from './hbone-headers.js';
import { connectWithTimeout } from './upstream.js';
import type { LiveInbound } from './live-inbound.js';

export function hboneHandler(ctx: ProxyContext, pod: LocalPod, live: LiveInbound): (req: HboneRequest) => Promise<HboneAnswer> {
  return async (req) => {
    const targetIp = normalizeIp(req.target.ip);
    const peerIp = normalizeIp(req.peerAddress.ip);
    if (!pod.ips.includes(targetIp)) {
      return { kind: 'reject', status: 400, reason: `authority ${hostPort(targetIp, req.target.port)} is not this pod` };
    }
    if (ILLEGAL_PORTS.has(req.target.port)) {
      return { kind: 'reject', status: 503, reason: `port ${req.target.port} belongs to the proxy` };
    }
    const destination = workloadOfPod(ctx, pod);
    if (destination === undefined) {
      return { kind: 'reject', status: 503, reason: `pod ${pod.namespace}/${pod.name} is not in the workload store` };
    }
    const host = forwardedHost(req.headers.forwarded);
    const service = host === undefined ? undefined : ctx.store.findServicesByHostname(host)[0];
    const result = ctx.metrics.open(
      {
        reporter: 'destination',
        ...(workloadByIp(ctx, peerIp) !== undefined ? { source: describeWorkload(workloadByIp(ctx, peerIp)) } : {}),
        destination: describeWorkload(destination) ?? describePod(pod, ctx.clusterId),
        ...(service !== undefined ? { destinationService: { hostname: service.hostname, name: service.name, namespace: service.namespace } } : {}),
        peerIdentity: req.peer,
        connectionSecurityPolicy: 'mutual_tls',
      },
      {
        src: hostPort(peerIp, req.peerAddress.port),
        dst: hostPort(targetIp, req.target.port),
        remoteTarget: hostPort(targetIp, req.target.port),
        protocol: 'HBONE',
      },
    );
    const connection = prepareConnection({
      sourceIp: peerIp,
      sourcePrincipal: req.peerUri,
      destinationIp: targetIp,
      destinationPort: req.target.port,
    });
    const workloadRef = livePolicyRef(ctx, pod);
    const decision = ctx.policies.check(workloadRef, connection);
    if (decision.kind === 'deny') {
      ctx.logger.info({ src: req.peerUri, dst: hostPort(targetIp, req.target.port), policy: decision.policy, reason: decision.reason }, 'connection denied');
      result.close(ResponseFlag.Deny);
      return { kind: 'reject', status: 401, reason: `denied: ${decision.reason}${decision.policy ? ` by ${decision.policy}` : ''}` };
    }
    let upstream;
    try {
      upstream = await connectWithTimeout(ctx.sockets.connectInPod(pod, targetIp, req.target.port), ctx.connectTimeoutMs);
    } catch (err) {
      result.close(ResponseFlag.Connect, err);
      return { kind: 'reject', status: 503, reason: `upstream ${hostPort(targetIp, req.target.port)}: ${(err as Error).message}` };
    }
    const entry = live.add({ workload: workloadRef, connection, destroy: () => upstream.destroy(new Error('no longer authorized')) });
    return {
      kind: 'accept',
      upstream,
      onBytes: (direction, n) => (direction === 'in' ? result.recordReceived(n) : result.recordSent(n)),
      onClose: (r) => {
        live.remove(entry);
        result.close(entry.revoked ? ResponseFlag.Deny : ResponseFlag.None, r.error);
      },
    };
  };
}
