/**
 * One enrolled pod's proxy: handlers on its in-pod listeners (15001
 * outbound, 15006 inbound plaintext, 15008 HBONE) and its HBONE server,
 * which presents the pod's own certificate. The certificate is fetched
 * before the HBONE listener serves, and refreshed material replaces it.
 */
import type net from 'node:net';
import { HboneServer } from '../hbone/index.js';
import { NO_GUARDS } from '../telemetry/index.js';
import { workloadOfPod, type LocalPod, type ProxyContext } from './context.js';
import { denyEarly, guardConnection, type EarlyDenySink } from './early-deny.js';
import { handleOutbound } from './outbound.js';
import { handleInboundPlaintext } from './inbound-plaintext.js';
import { hboneHandler } from './inbound-hbone.js';
import { proxyLimits, type ProxyLimits } from './limits.js';
import type { LiveInbound } from './live-inbound.js';

export interface PodListenerSet {
  readonly outbound: readonly net.Server[];
  readonly inboundPlaintext: net.Server;
  readonly hbone: net.Server;
}

export class PodProxy {
  private hbone: HboneServer | undefined;
  private identity: string | undefined;
  private readonly detach: (() => void)[] = [];
  /** HBONE connections accepted before the pod's certificate was ready, with their hold deadline. */
  private readonly pendingHbone = new Map<net.Socket, NodeJS.Timeout>();
  private readonly limits: ProxyLimits;
  private readonly sink: EarlyDenySink;
  private closed = false;

  constructor(
    private readonly ctx: ProxyContext,
    readonly pod: LocalPod,
    private readonly listeners: PodListenerSet,
    private readonly live: LiveInbound,
  ) {
    this.limits = proxyLimits(ctx.limits);
    const sink = (this.sink = { guards: ctx.guards ?? NO_GUARDS, logger: ctx.logger });
    const onOutbound = guardConnection(sink, 'outbound', (s) => handleOutbound(ctx, pod, s));
    for (const server of listeners.outbound) {
      server.on('connection', onOutbound);
      this.detach.push(() => server.off('connection', onOutbound));
    }
    const onPlaintext = guardConnection(sink, 'inbound-plaintext', (s) => handleInboundPlaintext(ctx, pod, live, s));
    listeners.inboundPlaintext.on('connection', onPlaintext);
    this.detach.push(() => listeners.inboundPlaintext.off('connection', onPlaintext));
    const onHbone = guardConnection(sink, 'hbone', (s) => this.acceptHbone(s));
    listeners.hbone.on('connection', onHbone);
    this.detach.push(() => listeners.hbone.off('connection', onHbone));
  }

  /** The pod's SPIFFE identity once the store knows the pod. */
  get currentIdentity(): string | undefined {
    return this.identity;
  }

  /**
   * Makes sure the HBONE server runs with the pod's certificate (called when
   * the pod is added and whenever the store changes). Connections that came
   * before it was ready wait, at most `maxPendingAccepts` of them and at most
   * the handshake timeout each.
   */
  async refresh(): Promise<void> {
    if (this.closed) return;
    const workload = workloadOfPod(this.ctx, this.pod);
    if (workload === undefined) return;
    const identity = workload.identityUri;
    const material = await this.ctx.certificates.fetchMaterial(identity);
    if (this.closed) return;
    if (this.hbone === undefined || this.identity !== identity) {
      const previous = this.hbone;
      this.hbone = new HboneServer({
        material,
        trustDomain: this.ctx.trustDomain,
        handle: hboneHandler(this.ctx, this.pod, this.live),
        limits: this.limits,
        guards: this.sink.guards,
        logger: this.ctx.logger,
      });
      this.identity = identity;
      void previous?.close(5000);
    } else {
      this.hbone.updateMaterial(material);
    }
    const server = this.hbone;
    const waiting = [...this.pendingHbone];
    this.pendingHbone.clear();
    for (const [socket, timer] of waiting) {
      clearTimeout(timer);
      if (!socket.destroyed) server.accept(socket);
    }
  }

  private acceptHbone(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (this.hbone !== undefined) {
      this.hbone.accept(socket);
      return;
    }
    // The pod's certificate is not here yet: hold the connection until it is, within bounds.
    if (this.pendingHbone.size >= this.limits.maxPendingAccepts) {
      this.sink.guards.limitHit('hbone_pending_accepts');
      denyEarly(this.sink, socket, 'limit', { pod: this.pod.name, limit: 'hbone_pending_accepts', max: this.limits.maxPendingAccepts });
      return;
    }
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      this.pendingHbone.delete(socket);
      this.sink.guards.limitHit('tls_handshake_timeout');
      denyEarly(this.sink, socket, 'limit', { pod: this.pod.name, limit: 'tls_handshake_timeout', heldMs: this.limits.handshakeTimeoutMs });
    }, this.limits.handshakeTimeoutMs);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(this.pendingHbone.get(socket));
      this.pendingHbone.delete(socket);
    });
    this.pendingHbone.set(socket, timer);
  }

  /** Connections waiting for the pod's certificate. */
  get pendingAccepts(): number {
    return this.pendingHbone.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.detach) d();
    for (const [socket, timer] of this.pendingHbone) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.pendingHbone.clear();
    await this.hbone?.close(1000);
    this.hbone = undefined;
  }
}
