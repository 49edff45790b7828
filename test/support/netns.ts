/**
 * Test support for the netns cluster: prerequisites, a TCP echo server run
 * inside a pod, and a one-shot TCP client run inside another.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterProcess, NetnsCluster } from '../../src/mesh/cluster/index.js';

/** Fails (never skips) when the test cannot create namespaces. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('this test builds network namespaces and cgroups: run it as root');
  }
}

/** A temporary directory for state files; remove it with the returned function. */
export function tempStateDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-netns-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// Echoes each connection's bytes back, prefixed by the local address the
// connection arrived on, so tests see which listener and address answered.
const ECHO_SERVER_JS = `
const net = require('node:net');
const port = Number(process.argv[1]);
const host = process.argv[2] || '0.0.0.0';
const srv = net.createServer((s) => {
  s.write(s.localAddress + ':' + s.localPort + ' ');
  s.pipe(s);
  s.on('error', () => {});
});
srv.listen(port, host, () => process.stdout.write('listening ' + srv.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

const TCP_CLIENT_JS = `
const net = require('node:net');
const [host, port, payload, timeoutMs] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const chunks = [];
const timer = setTimeout(() => { process.stderr.write('timeout'); process.exit(3); }, Number(timeoutMs));
s.on('connect', () => s.end(payload));
s.on('data', (d) => chunks.push(d));
s.on('error', (e) => { process.stderr.write(e.code || e.message); process.exit(2); });
s.on('close', () => { clearTimeout(timer); process.stdout.write(Buffer.concat(chunks)); });
`;

/** Starts the echo server inside a pod (or node) and resolves once it listens. */
export async function startEchoServer(
  cluster: NetnsCluster,
  where: { pod: string } | { node: string },
  port: number,
  host = '0.0.0.0',
): Promise<ClusterProcess> {
  const argv = ['node', '-e', ECHO_SERVER_JS, String(port), host];
  const p = 'pod' in where ? cluster.spawnInPod(where.pod, argv) : cluster.spawnInNode(where.node, argv);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo server in ${JSON.stringify(where)} did not start`)), 10_000);
    let seen = '';
    p.child.stdout?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (seen.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo server in ${JSON.stringify(where)} exited with ${code}`));
    });
  });
  return p;
}

export type TcpOutcome = { kind: 'reply'; text: string } | { kind: 'error'; reason: string };

/** Connects from inside a pod, sends payload, half-closes and returns what came back. */
export async function tcpFromPod(
  cluster: NetnsCluster,
  pod: string,
  host: string,
  port: number,
  payload = 'ping',
  timeoutMs = 5_000,
): Promise<TcpOutcome> {
  const r = await cluster.execInPod(pod, ['node', '-e', TCP_CLIENT_JS, host, String(port), payload, String(timeoutMs)], {
    timeoutMs: timeoutMs + 5_000,
  });
  return r.code === 0 ? { kind: 'reply', text: r.stdout } : { kind: 'error', reason: r.stderr.trim() || `exit ${r.code}` };
}
