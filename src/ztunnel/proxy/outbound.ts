/**
 * The outbound path (in-pod 15001): the app's connection, redirected by
 * eBPF, is routed by its original destination. Mesh destinations go through
 * an HBONE tunnel carrying the source pod's identity; others are proxied as
 * plain TCP from inside the pod's netns. A failed set-up resets the app's
 * connection and is counted with its response flag.
 */
import type net from 'node:net';
import { ResponseFlag, type ConnectionResult } from '../telemetry/index.js';
import { splice } from '../hbone/index.js';
import {
  ILLEGAL_PORTS,
  describePod,
  describeWorkload,
  hostPort,
  normalizeIp,
  spiffeOrUndefined,
  workloadOfPod,
  type LocalPod,
  type ProxyContext,
} from './context.js';
import { baggageFor, forwardedFor, newTraceparent } from './hbone-headers.js';
import { flagFor } from './flags.js';
import { connectWithTimeout } from './upstream.js';
import { routeOutbound, workloadIdentity, type Route } from './route.js';

const LOOPBACK = /^(127\.|::1$)/;

export function handleOutbound(ctx: ProxyContext, pod: LocalPod, socket: net.Socket): void {
  socket.on('error', () => undefined); // reported through the connection result
  // A proxy must not add Nagle delays on top of the app's own writes.
  socket.setNoDelay(true);
  const orig = ctx.sockets.originalDestination(socket, pod);
  if (orig === undefined) {
    ctx.logger.warn({ pod: pod.name, peer: socket.remoteAddress }, 'outbound connection without original destination');
    socket.resetAndDestroy();
    return;
  }
  const dst = { ip: normalizeIp(orig.address), port: orig.port };
  if (LOOPBACK.test(dst.ip) && ILLEGAL_PORTS.has(dst.port)) {
    ctx.logger.warn({ pod: pod.name, dst: hostPort(dst.ip, dst.port) }, 'outbound connection to the proxy itself refused');
    socket.resetAndDestroy();
    return;
  }
  const source = workloadOfPod(ctx, pod);
  const route = routeOutbound(ctx.store, source, dst, Math.random, ctx.network);
  const src = hostPort(normalizeIp(socket.remoteAddress ?? ''), socket.remotePort ?? 0);
  const result = ctx.metrics.open(
    {
      reporter: 'source',
      source: describeWorkload(source) ?? describePod(pod, ctx.clusterId),
      ...(route.kind === 'hbone' || route.kind === 'direct' ? { destination: describeWorkload(route.workload) } : {}),
      ...(route.service !== undefined ? { destinationService: route.service } : {}),
      ...(route.kind === 'hbone' ? { peerIdentity: spiffeOrUndefined(route.identities[0]) } : {}),
      connectionSecurityPolicy: route.kind === 'hbone' ? 'mutual_tls' : 'unknown',
    },
    {
      src,
      dst: hostPort(dst.ip, dst.port),
      remoteTarget: route.kind === 'no-healthy-upstream' ? hostPort(dst.ip, dst.port) : hostPort(route.target.ip, route.target.port),
      protocol: route.kind === 'hbone' ? 'HBONE' : 'TCP',
    },
  );
  connectUpstream(ctx, pod, socket, route, source === undefined ? undefined : workloadIdentity(source), result).catch(
    (err: unknown) => {
      ctx.logger.debug({ err, pod: pod.name, dst: hostPort(dst.ip, dst.port) }, 'outbound connection failed');
      socket.resetAndDestroy();
      result.close(flagFor(err), err);
    },
  );
}

async function connectUpstream(
  ctx: ProxyContext,
  pod: LocalPod,
  socket: net.Socket,
  route: Route,
  sourceIdentity: string | undefined,
  result: ConnectionResult,
): Promise<void> {
  let upstream: net.Socket | import('node:stream').Duplex;
  switch (route.kind) {
    case 'no-healthy-upstream':
      throw new Error(`service ${route.service.hostname} has no healthy endpoint for port ${route.target.port}`);
    case 'passthrough':
    case 'direct':
      upstream = await connectWithTimeout(ctx.sockets.connectInPod(pod, route.target.ip, route.target.port), ctx.connectTimeoutMs);
      break;
    case 'hbone': {
      if (sourceIdentity === undefined) {
        throw new Error(`pod ${pod.namespace}/${pod.name} is not in the workload store yet: no identity for HBONE`);
      }
      const material = await ctx.certificates.fetchMaterial(sourceIdentity);
      const source = workloadOfPod(ctx, pod);
      upstream = await ctx.pool.connect({
        source: {
          identity: sourceIdentity,
          material,
          key: pod.uid,
          connect: (t) => ctx.sockets.connectInPod(pod, t.ip, t.port, 'hbone'),
        },
        destination: route.tunnel,
        expectedIdentities: route.identities,
        target: route.target,
        headers: {
          baggage: baggageFor(source, ctx.clusterId),
          forwarded: forwardedFor(normalizeIp(socket.remoteAddress ?? ''), socket.remotePort ?? 0, route.service?.hostname),
          traceparent: newTraceparent(),
        },
      });
      break;
    }
  }
  if (socket.destroyed) {
    upstream.destroy();
    result.close(ResponseFlag.Connect, new Error('the app closed before the upstream was ready'));
    return;
  }
  splice(
    socket,
    upstream,
    (direction, n) => (direction === 'in' ? result.recordReceived(n) : result.recordSent(n)),
    (r) => result.close(ResponseFlag.None, r.error),
  );
}
