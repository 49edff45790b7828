/**
 * One enrolled pod's proxy: handlers on its in-pod listeners (15001
 * outbound, 15006 inbound plaintext, 15008 HBONE) and its HBONE server,
 * which presents the pod's own certificate. The certificate is fetched
 * before the HBONE listener serves, and refreshed material replaces it.
 */
import type net from 'node:net';
import { HboneServer } from '../hbone/index.js';
import { workloadOfPod, type LocalPod, type ProxyContext } from './context.js';
import { handleOutbound } from './outbound.js';
import { handleInboundPlaintext } from './inbound-plaintext.js';
import { hboneHandler } from './inbound-hbone.js';
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
  private pendingHbone: net.Socket[] = [];
  private closed = false;

  constructor(
    private readonly ctx: ProxyContext,
    readonly pod: LocalPod,
    private readonly listeners: PodListenerSet,
    private readonly live: LiveInbound,
  ) {
    const onOutbound = (s: net.Socket): void => handleOutbound(ctx, pod, s);
    for (const server of listeners.outbound) {
      server.on('connection', onOutbound);
      this.detach.push(() => server.off('connection', onOutbound));
    }
    const onPlaintext = (s: net.Socket): void => handleInboundPlaintext(ctx, pod, live, s);
    listeners.inboundPlaintext.on('connection', onPlaintext);
    this.detach.push(() => listeners.inboundPlaintext.off('connection', onPlaintext));
    const onHbone = (s: net.Socket): void => this.acceptHbone(s);
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
   * before it was ready wait, bounded by the listener backlog.
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
        logger: this.ctx.logger,
      });
      this.identity = identity;
      void previous?.close(5000);
    } else {
      this.hbone.updateMaterial(material);
    }
    const waiting = this.pendingHbone;
    this.pendingHbone = [];
    for (const s of waiting) if (!s.destroyed) this.hbone.server.emit('connection', s);
  }

  private acceptHbone(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (this.hbone !== undefined) {
      this.hbone.server.emit('connection', socket);
      return;
    }
    // The pod's certificate is not here yet: hold the connection until it is.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.pendingHbone = this.pendingHbone.filter((s) => s !== socket);
    });
    this.pendingHbone.push(socket);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.detach) d();
    for (const s of this.pendingHbone) s.destroy();
    this.pendingHbone = [];
    await this.hbone?.close(1000);
    this.hbone = undefined;
  }
}
