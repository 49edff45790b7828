/**
 * The outbound path (in-pod 15001): the app's connection, redirected by
 * eBPF, is routed by its original destination. Mesh destinations go through
 * an HBONE tunnel carrying the source pod's identity; others are proxied as
 * plain TCP from inside the pod's netns. A failed set-up resets the app's
 * connection and is counted with its response flag.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { withDeadline } from '../../shared/deadline.js';
import { errorMessage } from '../../shared/errors.js';
import { NO_GUARDS, ResponseFlag, type ConnectionResult } from '../telemetry/index.js';
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
import { abort, resetSocket, splice, whenClosed } from './copy.js';
import { denyEarly, type EarlyDenySink } from './early-deny.js';
import { baggageFor, forwardedFor, newTraceparent } from './hbone-headers.js';
import { flagFor } from './flags.js';
import { dialUpstream } from './upstream.js';
import { routeOutbound, type Route } from './route.js';

const LOOPBACK = /^(127\.|::1$)/;

export function handleOutbound(ctx: ProxyContext, pod: LocalPod, socket: net.Socket): void {
  socket.on('error', () => undefined); // reported through the connection result
  const sink = { guards: ctx.guards ?? NO_GUARDS, logger: ctx.logger };
  // A client that reset before we looked has no address: nothing to account for.
  if (socket.remoteAddress === undefined || socket.destroyed) {
    denyEarly(sink, socket, 'no_peer_address', { pod: pod.name, direction: 'outbound' });
    return;
  }
  // A proxy must not add Nagle delays on top of the app's own writes.
  socket.setNoDelay(true);
  const orig = ctx.sockets.originalDestination(socket, pod);
  if (orig === undefined) {
    denyEarly(sink, socket, 'no_original_destination', { pod: pod.name, peer: socket.remoteAddress });
    return;
  }
  const dst = { ip: normalizeIp(orig.address), port: orig.port };
  if (LOOPBACK.test(dst.ip) && ILLEGAL_PORTS.has(dst.port)) {
    denyEarly(sink, socket, 'proxy_loop', { pod: pod.name, dst: hostPort(dst.ip, dst.port) });
    return;
  }
  if (ctx.store.addressesSynced) {
    routeAndConnect(ctx, pod, socket, dst);
    return;
  }
  // Started before the first Address push (the agent just restarted and
  // re-adopted the pod): nothing is known to route by, and guessing
  // (passthrough) would send mesh traffic around mTLS or into a VIP that
  // answers nothing. Wait for the push, within the connect timeout.
  const appGone = new AbortController();
  const onClose = (): void => appGone.abort(new Error('the app closed before its connection was routed'));
  socket.once('close', onClose);
  withDeadline(
    {
      timeoutMs: ctx.connectTimeoutMs,
      timeoutError: () => new Error(`no Address push within ${ctx.connectTimeoutMs} ms`),
      parent: appGone.signal,
    },
    async (signal) => {
      if (!(await ctx.store.whenAddressesSynced(signal))) throw signal.reason;
    },
  ).then(
    () => {
      socket.off('close', onClose);
      guardedRoute(ctx, pod, socket, dst, sink);
    },
    () => {
      socket.off('close', onClose);
      if (socket.destroyed) return;
      denyEarly(sink, socket, 'workload_state_not_synced', { pod: pod.name, dst: hostPort(dst.ip, dst.port), waitedMs: ctx.connectTimeoutMs });
    },
  );
}

/** Routing after a wait runs outside the accept handler's guard: a throw is an early deny, not a rejection. */
function guardedRoute(ctx: ProxyContext, pod: LocalPod, socket: net.Socket, dst: { ip: string; port: number }, sink: EarlyDenySink): void {
  try {
    routeAndConnect(ctx, pod, socket, dst);
  } catch (err) {
    denyEarly(sink, socket, 'internal_error', { pod: pod.name, dst: hostPort(dst.ip, dst.port), err: errorMessage(err) });
  }
}

function routeAndConnect(ctx: ProxyContext, pod: LocalPod, socket: net.Socket, dst: { ip: string; port: number }): void {
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
  // From here on the result is closed exactly once, however the connection ends.
  // The app leaving before the upstream is ready ends it at once; the set-up is abandoned.
  let copying = false;
  const appGone = new AbortController();
  whenClosed(socket, () => {
    if (copying) return;
    const reason = new Error('the app closed before the upstream was ready');
    appGone.abort(reason);
    result.close(ResponseFlag.Connect, reason);
  });
  const fail = (err: unknown): void => {
    ctx.logger.debug({ err: errorMessage(err), pod: pod.name, dst: hostPort(dst.ip, dst.port) }, 'outbound connection failed');
    resetSocket(socket);
    result.close(flagFor(err), err);
  };
  let connecting: Promise<Duplex>;
  try {
    connecting = connectUpstream(ctx, pod, socket, route, source?.identityUri, appGone.signal);
  } catch (err) {
    fail(err);
    return;
  }
  connecting.then(
    (upstream) => {
      if (appGone.signal.aborted || socket.destroyed) {
        abort(upstream);
        result.close(ResponseFlag.Connect, new Error('the app closed before the upstream was ready'));
        return;
      }
      // The copy owns the result now: the app's close no longer means "never connected".
      copying = true;
      startCopy(socket, upstream, result);
    },
    fail,
  );
}

/** Copies both ways; the result closes when both sides have closed. */
function startCopy(socket: net.Socket, upstream: Duplex, result: ConnectionResult): void {
  splice(
    socket,
    upstream,
    (direction, n) => (direction === 'in' ? result.recordReceived(n) : result.recordSent(n)),
    (r) => result.close(ResponseFlag.None, r.error),
  );
}

async function connectUpstream(
  ctx: ProxyContext,
  pod: LocalPod,
  socket: net.Socket,
  route: Route,
  sourceIdentity: string | undefined,
  signal: AbortSignal,
): Promise<Duplex> {
  switch (route.kind) {
    case 'no-healthy-upstream':
      throw new Error(`service ${route.service.hostname} has no healthy endpoint for port ${route.target.port}`);
    case 'passthrough':
    case 'direct':
      return dialUpstream(
        () => ctx.sockets.connectInPod(pod, route.target.ip, route.target.port),
        hostPort(route.target.ip, route.target.port),
        ctx.connectTimeoutMs,
        signal,
      );
    case 'hbone': {
      if (sourceIdentity === undefined) {
        throw new Error(`pod ${pod.namespace}/${pod.name} is not in the workload store yet: no identity for HBONE`);
      }
      const material = await ctx.certificates.fetchMaterial(sourceIdentity);
      if (signal.aborted) throw signal.reason as Error;
      const source = workloadOfPod(ctx, pod);
      return ctx.pool.connect({
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
        signal,
      });
    }
  }
}
