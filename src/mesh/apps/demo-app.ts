/**
 * The demo's applications, run inside pods by `ambit mesh up`:
 *  - backend: an HTTP server answering who it is;
 *  - frontend: an HTTP server that calls the backend Service for each
 *    request, and (with --traffic-ms) calls it on its own every so often so
 *    that metrics move while nobody is looking.
 * Plain node:http; the mesh is invisible to them.
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    port: { type: 'string', default: '8080' },
    name: { type: 'string', default: hostname() },
    upstream: { type: 'string', default: 'http://10.96.0.20:80/' },
    'traffic-ms': { type: 'string', default: '0' },
  },
});

const port = Number(values.port);
const name = values.name ?? 'app';

function callUpstream(): Promise<string> {
  return new Promise((resolve, reject) => {
    // A fresh connection per call (no keep-alive), so calls spread over the backends.
    const req = http.get(values.upstream ?? '', { timeout: 5000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(`${res.statusCode} ${Buffer.concat(chunks).toString().trim()}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

let server: http.Server;
if (values.role === 'backend') {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from ${name} (${req.socket.localAddress}) to ${req.socket.remoteAddress}\n`);
  });
} else if (values.role === 'frontend') {
  server = http.createServer((_req, res) => {
    callUpstream().then(
      (answer) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${name} -> ${answer}\n`);
      },
      (err: Error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`${name} -> upstream failed: ${err.message}\n`);
      },
    );
  });
  const every = Number(values['traffic-ms']);
  if (every > 0) setInterval(() => void callUpstream().catch(() => undefined), every).unref();
} else {
  process.stderr.write('demo-app: --role backend|frontend is required\n');
  process.exit(2);
}
server.listen(port, '::', () => process.stdout.write(`${values.role} ${name} listening on ${port}\n`));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.close(() => process.exit(0)));
