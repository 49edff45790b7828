/**
 * An HBONE peer in its own process, so a test can SIGSTOP or SIGKILL it:
 * `server` runs an HboneServer that splices each CONNECT to a TCP app;
 * `client` opens one tunnel through an HbonePool and keeps it open. Both
 * use the keepalive timings they are given. Configured by the JSON in
 * AMBIT_HBONE_PEER; prints one JSON line ({ port } or { open: true }) when
 * ready.
 */
import net from 'node:net';
import { once } from 'node:events';
import { HbonePool, HboneServer, type KeepaliveOptions, type TlsMaterial } from '../../src/ztunnel/hbone/index.js';
import { splice } from '../../src/ztunnel/proxy/index.js';

export type HbonePeerConfig =
  | { readonly mode: 'server'; readonly material: TlsMaterial; readonly appPort: number; readonly keepalive: KeepaliveOptions }
  | {
      readonly mode: 'client';
      readonly material: TlsMaterial;
      readonly identity: string;
      readonly serverPort: number;
      readonly serverIdentity: string;
      readonly appPort: number;
      readonly keepalive: KeepaliveOptions;
    };

const config = JSON.parse(process.env.AMBIT_HBONE_PEER ?? '{}') as HbonePeerConfig;

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(s, 'connect');
  return s;
}

if (config.mode === 'server') {
  const server = new HboneServer({
    material: config.material,
    trustDomain: 'cluster.local',
    keepalive: config.keepalive,
    handle: async () => {
      const upstream = await connect(config.appPort);
      return { kind: 'accept', open: (tunnel) => splice(tunnel, upstream, undefined, undefined), abandon: () => upstream.destroy() };
    },
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} else if (config.mode === 'client') {
  const pool = new HbonePool({ keepalive: config.keepalive });
  const stream = await pool.connect({
    source: { identity: config.identity, material: config.material, connect: (t) => connect(t.port) },
    destination: { ip: '127.0.0.1', port: config.serverPort },
    expectedIdentities: [config.serverIdentity],
    target: { ip: '127.0.0.1', port: config.appPort },
  });
  stream.on('error', () => undefined);
  stream.write('hello');
  process.stdout.write(`${JSON.stringify({ open: true })}\n`);
  // Stays up until killed.
  setInterval(() => undefined, 60_000);
} else {
  process.stderr.write('AMBIT_HBONE_PEER: mode must be server or client\n');
  process.exitCode = 2;
}
