/**
 * Holds TCP connections open: writes one byte on each accepted connection
 * (so a client knows its connection reached the server, through any proxy)
 * and keeps it until the peer closes. Prints `listening <port>` once bound.
 *
 *   node --import tsx bench/support/tcp-hold-server.ts <port>
 */
import net from 'node:net';

const port = Number(process.argv[2] ?? '9000');
const hello = Buffer.from('+');

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.destroy());
  socket.write(hello);
});
server.maxConnections = 100_000;
server.listen({ port, host: '0.0.0.0', backlog: 8192 }, () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
