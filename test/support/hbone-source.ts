/**
 * An HBONE source for tests on loopback: the identity and material a pool
 * dials with, connecting plain TCP from this process (no pod netns).
 */
import net from 'node:net';
import { once } from 'node:events';
import type { HboneSource, TlsMaterial } from '../../src/ztunnel/hbone/index.js';

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
