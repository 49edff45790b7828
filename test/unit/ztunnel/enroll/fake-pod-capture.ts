/**
 * A fake PodCapture: listeners are ordinary servers on 127.0.0.1 (random
 * port) in the test's own namespace, "pins" are a map that outlives an
 * EnrollmentServer, and failures can be injected per address or pod.
 */
import net from 'node:net';
import type { CaptureTarget, ListenAddress, PodCapture } from '../../../../src/ztunnel/enroll/index.js';

export interface FakeListen {
  readonly netnsPath: string;
  readonly address: ListenAddress;
  readonly port: number;
}

export class FakePodCapture implements PodCapture {
  readonly listens: FakeListen[] = [];
  readonly attached = new Map<string, { target: CaptureTarget; inbound: net.Server }>();
  readonly detaches: string[] = [];
  readonly servers: net.Server[] = [];
  /** Addresses whose listen() fails, e.g. '::1' for a pod without IPv6. */
  failAddresses = new Set<ListenAddress>(['::1', '::']);
  /** Netns paths whose listen() fails. */
  failNetns = new Set<string>();
  /** Pod UIDs whose attach() fails. */
  failAttach = new Set<string>();

  async listen(netnsPath: string, address: ListenAddress, port: number): Promise<net.Server> {
    this.listens.push({ netnsPath, address, port });
    if (this.failAddresses.has(address) || this.failNetns.has(netnsPath)) {
      throw Object.assign(new Error(`fake: cannot bind ${address}:${port} in ${netnsPath}`), { errno: 99 });
    }
    const s = net.createServer((c) => c.end(`${address}:${port}`));
    this.servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return s;
  }

  async attach(pod: CaptureTarget, inbound: net.Server): Promise<void> {
    if (this.failAttach.has(pod.uid)) throw new Error(`fake: cannot attach ${pod.uid}`);
    this.attached.set(pod.uid, { target: pod, inbound });
  }

  async detach(uid: string): Promise<void> {
    this.detaches.push(uid);
    this.attached.delete(uid);
  }

  attachedUids(): readonly string[] {
    return [...this.attached.keys()];
  }

  /** Servers this fake made that are still listening. */
  openServers(): net.Server[] {
    return this.servers.filter((s) => s.listening);
  }

  closeAll(): Promise<void> {
    return Promise.all(this.openServers().map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
  }
}
