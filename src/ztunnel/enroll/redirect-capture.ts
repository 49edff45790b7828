/**
 * The PodCapture backed by the eBPF redirect module: listeners are sockets
 * the addon creates inside the pod's netns, wrapped in net.Servers; attach
 * and detach are enrollPod/unenrollPod; what survived a restart is read from
 * the pinned maps.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Redirect } from '../redirect/index.js';
import type { CaptureTarget, ListenAddress, PodCapture } from './capture.js';
import { EnrollError } from './errors.js';

export function redirectPodCapture(redirect: Redirect): PodCapture {
  // The 15006 fd is what the sk_lookup sockmap needs; servers keep theirs private.
  const fds = new WeakMap<net.Server, number>();
  return {
    async listen(netnsPath: string, address: ListenAddress, port: number): Promise<net.Server> {
      const fd = await redirect.listenInPod(netnsPath, address, port);
      // Half-open: an app that shuts down its sending side still gets the answer.
      const server = net.createServer({ allowHalfOpen: true });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ fd }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        // The fd is not closed here: Node may already have closed it while
        // failing, and closing a number that was reused would hit another socket.
        throw new EnrollError('ENROLL_CAPTURE_FAILED', `netns ${netnsPath}: cannot serve ${address}:${port}`, { cause: err });
      }
      fds.set(server, fd);
      return server;
    },
    async attach(pod: CaptureTarget, inbound: net.Server): Promise<void> {
      const fd = fds.get(inbound);
      if (fd === undefined) {
        throw new EnrollError('ENROLL_CAPTURE_FAILED', `pod ${pod.uid}: the inbound listener was not made by this capture`);
      }
      // Every cgroup v2 directory but a hierarchy's root has cgroup.events:
      // capture attached at a root would redirect the whole node.
      if (!existsSync(join(pod.cgroupPath, 'cgroup.events'))) {
        throw new EnrollError('ENROLL_CAPTURE_FAILED', `pod ${pod.uid}: ${pod.cgroupPath} is not a non-root cgroup v2 directory`);
      }
      await redirect.enrollPod({ ...pod, inboundListenerFd: fd });
    },
    detach(uid: string): Promise<void> {
      return redirect.unenrollPod(uid);
    },
    attachedUids(): readonly string[] {
      return redirect.enrolledPods().map((p) => p.uid);
    },
  };
}
