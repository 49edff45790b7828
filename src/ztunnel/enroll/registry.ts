/**
 * The pods the agent holds, with their in-pod listeners. A plain store
 * with derived indexes (by UID and by IP); writing an entry removes its old
 * index entries first.
 */
import type net from 'node:net';
import type { PodInfo } from './protocol.js';

/** The agent's listeners inside one pod's network namespace. */
export interface PodListeners {
  /** 15001 on 127.0.0.1 and, when the pod has IPv6 loopback, on ::1. */
  readonly outbound: readonly net.Server[];
  /** 15006 on the wildcard: inbound plaintext assigned by sk_lookup. */
  readonly inboundPlaintext: net.Server;
  /** 15008 on the wildcard: HBONE. */
  readonly hbone: net.Server;
}

export interface RegisteredPod {
  readonly info: PodInfo;
  /** `<dev>:<inode>` of the netns file when enrolled: a change means a new namespace. */
  readonly netnsId: string;
  readonly listeners: PodListeners;
  /** True when taken over from pins at start-up rather than from a request of this run. */
  readonly adopted: boolean;
}

export function allListeners(l: PodListeners): net.Server[] {
  return [...l.outbound, l.inboundPlaintext, l.hbone];
}

export class PodRegistry {
  private readonly byUid = new Map<string, RegisteredPod>();
  private readonly byIp = new Map<string, string>();

  get size(): number {
    return this.byUid.size;
  }

  findByUid(uid: string): RegisteredPod | undefined {
    return this.byUid.get(uid);
  }

  findByIp(ip: string): RegisteredPod | undefined {
    const uid = this.byIp.get(ip);
    return uid === undefined ? undefined : this.byUid.get(uid);
  }

  /** Every pod, sorted by UID so dumps compare equal. */
  list(): RegisteredPod[] {
    return [...this.byUid.values()].sort((a, b) => (a.info.uid < b.info.uid ? -1 : a.info.uid > b.info.uid ? 1 : 0));
  }

  set(pod: RegisteredPod): void {
    this.delete(pod.info.uid);
    this.byUid.set(pod.info.uid, pod);
    for (const ip of pod.info.ips) this.byIp.set(ip, pod.info.uid);
  }

  delete(uid: string): RegisteredPod | undefined {
    const old = this.byUid.get(uid);
    if (old === undefined) return undefined;
    this.byUid.delete(uid);
    for (const ip of old.info.ips) if (this.byIp.get(ip) === uid) this.byIp.delete(ip);
    return old;
  }

  /** The config_dump section: pods and where their listeners are. */
  dump(): { uid: string; name: string; namespace: string; ips: readonly string[]; netnsPath: string; listeners: string[] }[] {
    return this.list().map((p) => ({
      uid: p.info.uid,
      name: p.info.name,
      namespace: p.info.namespace,
      ips: p.info.ips,
      netnsPath: p.info.netnsPath,
      listeners: allListeners(p.listeners).map((s) => {
        const a = s.address();
        return a !== null && typeof a === 'object' ? `${a.address}:${a.port}` : String(a);
      }),
    }));
  }
}
