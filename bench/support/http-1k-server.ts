/**
 * The HTTP/1.1 origin for the latency runs: answers every request with the
 * same 1 KiB body, keep-alive, no per-request allocation beyond Node's own.
 * Prints `listening <port>` once bound.
 *
 *   node --import tsx bench/support/http-1k-server.ts <port>
 */
import http from 'node:http';

const BODY_BYTES = 1024;

const port = Number(process.argv[2] ?? '8080');
const body = Buffer.alloc(BODY_BYTES, 'a');
const headers = { 'content-type': 'application/octet-stream', 'content-length': String(BODY_BYTES) };

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
