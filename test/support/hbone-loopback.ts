/**
 * Loopback pieces for HBONE tests: the source a pool dials with (plain TCP
 * from this process, no pod netns), an echo app, and the server-side answer
 * that splices a CONNECT to a loopback port.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { HboneAnswer, HboneSource, TlsMaterial } from '../../src/ztunnel/hbone/index.js';
import { splice } from '../../src/ztunnel/proxy/index.js';

export function loopbackSource(identity: string, material: TlsMaterial): HboneSource {
  return {
    identity,
    material,
    connect: async (t) => {
      const s = net.connect({ host: t.ip, port: t.port });
      await once(s, 'connect');
      return s;
    },
  };
}

/** An app connection that echoes what it reads and ends when the client ends. */
export function echoConnection(s: net.Socket): void {
  s.on('error', () => undefined);
  s.on('data', (d) => s.write(d));
  s.on('end', () => s.end());
}

/** The server's answer to a CONNECT: a TCP connection to 127.0.0.1:`port`, spliced to the tunnel. */
export async function spliceToLoopback(port: number): Promise<HboneAnswer> {
  const upstream = net.connect({ host: '127.0.0.1', port });
  upstream.on('error', () => undefined);
  await once(upstream, 'connect');
  return { kind: 'accept', open: (t) => splice(t, upstream, undefined, undefined), abandon: () => upstream.resetAndDestroy() };
}
