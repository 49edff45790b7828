/**
 * The inbound HBONE path (in-pod 15008): for each CONNECT the pod's HBONE
 * server verified, check that the target is this pod, authorize the peer's
 * identity against the pod's L4 policies, connect to the app inside the pod
 * and answer 200; refusals answer 400/401/503 on the stream.
 */
import { errorMessage } from '../../shared/errors.js';
import { prepareConnection } from '../authz/index.js';
import type { HboneAnswer, HboneHandler } from '../hbone/index.js';
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
import { abort, splice } from './copy.js';
import { forwardedHost } from './hbone-headers.js';
import { dialUpstream } from './upstream.js';
import type { LiveInbound } from './live-inbound.js';

/**
 * The handler of the pod's HBONE server. It owns its deadline through the
 * server's signal: when the signal aborts (deadline, client gone, server
 * closing) the upstream connect is abandoned and a socket that still
 * arrives is destroyed. The connection result is closed exactly once.
 */
export function hboneHandler(ctx: ProxyContext, pod: LocalPod, live: LiveInbound): HboneHandler {
  return async (req, signal) => {
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
    const source = workloadByIp(ctx, peerIp);
    const result = ctx.metrics.open(
      {
        reporter: 'destination',
        ...(source !== undefined ? { source: describeWorkload(source) } : {}),
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
    // From here on every exit closes the result: a throw included.
    try {
      return await authorizeAndConnect();
    } catch (err) {
      result.close(ResponseFlag.Connect, err);
      return { kind: 'reject', status: 503, reason: `upstream ${hostPort(targetIp, req.target.port)}: ${errorMessage(err)}` };
    }

    async function authorizeAndConnect(): Promise<HboneAnswer> {
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
      const upstream = await dialUpstream(
        () => ctx.sockets.connectInPod(pod, targetIp, req.target.port),
        hostPort(targetIp, req.target.port),
        ctx.connectTimeoutMs,
        signal,
      );
      return {
        kind: 'accept',
        open: (tunnel) => {
          const entry = live.add({ workload: workloadRef, connection, destroy: () => upstream.destroy(new Error('no longer authorized')) });
          splice(
            tunnel,
            upstream,
            (direction, n) => (direction === 'in' ? result.recordReceived(n) : result.recordSent(n)),
            (r) => {
              live.remove(entry);
              result.close(entry.revoked ? ResponseFlag.Deny : ResponseFlag.None, r.error);
            },
          );
        },
        abandon: (reason) => {
          abort(upstream);
          result.close(ResponseFlag.Connect, reason);
        },
      };
    }
  };
}
