/**
 * tcp-echo (docker.io/istio/tcp-echo-server): `tcp-echo <ports> <prefix>`
 * listens on every port of the comma-separated first argument and answers
 * each newline-terminated line with `<prefix> <line>` (newline kept). A
 * trailing partial line at end of input gets no answer, and the connection
 * closes when the client's side ends — as the Go program's
 * `ReadBytes('\n')` loop does. The image's CMD is `9000 hello`.
 */
import net from 'node:net';
import { StandinError } from './errors.js';
import { bind, type Listener, type StandinEvents } from './http-serve.js';

/** The image's ENTRYPOINT; a manifest `command` naming it is not an argument. */
const ENTRYPOINT = '/bin/tcp-echo';
/** The image's CMD, used when the container gives no args. */
const DEFAULT_ARGS = ['9000', 'hello'] as const;
/** A line longer than this without a newline resets the connection (the Go reader grows unbounded; we don't). */
const MAX_LINE_BYTES = 64 * 1024;

export interface TcpEchoConfig {
  readonly ports: readonly number[];
  readonly prefix: string;
}

/** Decodes the container's args as the real binary reads os.Args[1] and os.Args[2]. */
export function tcpEchoConfig(args: readonly string[]): TcpEchoConfig {
  const rest = args[0] === ENTRYPOINT || args[0] === 'tcp-echo' ? args.slice(1) : args;
  const [rawPorts, prefix] = rest.length === 0 ? DEFAULT_ARGS : rest;
  if (rawPorts === undefined || prefix === undefined) {
    throw new StandinError(
      'STANDIN_BAD_ARGS',
      `tcp-echo: args ${JSON.stringify(args)}: want "<port>[,<port>...]" "<prefix>"`,
    );
  }
  const ports = rawPorts.split(',').map((p) => {
    const port = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(port >= 0 && port <= 65535)) {
      throw new StandinError('STANDIN_BAD_ARGS', `tcp-echo: args[0] "${rawPorts}": "${p}" is not a port`);
    }
    return port;
  });
  return { ports, prefix };
}

/** Starts one listener per port; all or none (a failed bind closes the ones already up). */
export async function startTcpEcho(
  config: TcpEchoConfig,
  host: string,
  events: StandinEvents,
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const port of config.ports) listeners.push(await listenEcho(port, host, config.prefix, events));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return listeners;
}

async function listenEcho(
  port: number,
  host: string,
  prefix: string,
  events: StandinEvents,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, prefix, boundPort, events);
  });
  server.maxConnections = 1024;
  const boundPort = await bind(server, port, host, 'tcp-echo');
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function serveConnection(socket: net.Socket, prefix: string, port: number, events: StandinEvents): void {
  const startedMs = performance.now();
  const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
  const head = Buffer.from(`${prefix} `);
  let pending: Buffer = Buffer.alloc(0);
  let bytesIn = 0;
  let bytesOut = 0;
  socket.on('data', (chunk: Buffer) => {
    bytesIn += chunk.length;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let nl = pending.indexOf(0x0a);
    while (nl >= 0) {
      const line = pending.subarray(0, nl + 1);
      bytesOut += head.length + line.length;
      socket.write(Buffer.concat([head, line]));
      pending = pending.subarray(nl + 1);
      nl = pending.indexOf(0x0a);
    }
    if (pending.length > MAX_LINE_BYTES) socket.destroy();
  });
  // A reset from the peer is the end of this connection, not a failure of the stand-in.
  socket.on('error', () => socket.destroy());
  socket.once('close', () => {
    events.connection?.({
      standin: 'tcp-echo',
      port,
      remote,
      bytesIn,
      bytesOut,
      durationMs: Math.round(performance.now() - startedMs),
    });
  });
}
