/**
 * Concurrent connects from inside a pod's netns, as the agent makes them
 * (Redirect.connectInPod: socket() in the netns, the connect on the event
 * loop), against a baseline of plain net.connect in the agent's own netns:
 *   - N at once to a listening port: wall time, median and max latency;
 *   - N at once to an address that black-holes SYNs (a permanent neighbour
 *     entry on a veth whose peer drops the frames), each with a deadline:
 *     wall time until all gave up;
 *   - while those N hang: the latency of connects to the listening port and
 *     of an fs.stat (libuv's pool), i.e. whether the hanging attempts hold
 *     threads the rest of the agent needs.
 * Prints figures, never passes or fails on time.
 *
 * Run (root): node --import tsx bench/netns-connect.ts [--connects 200] [--deadline-ms 1000]
 */
import fs from 'node:fs';
import net from 'node:net';
import { destroyInstance, openRedirect } from '../src/ztunnel/redirect/index.js';
import { TestWorld, ipIn, requireCaptureHost } from '../test/support/netns-min.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const CONNECTS = arg('--connects', 200);
const DEADLINE_MS = arg('--deadline-ms', 1000);
const PROBES = 20;
const PORT = 18080;
const BLACK_HOLE = '10.219.0.9';

interface Stats {
  readonly median: number;
  readonly max: number;
}

function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
}

function fmt(label: string, wallMs: number, s: Stats): string {
  return `  ${label.padEnd(52)} wall ${wallMs.toFixed(1).padStart(8)} ms  median ${s.median.toFixed(2)} ms  max ${s.max.toFixed(2)} ms`;
}

type Attempt = (host: string, timeoutMs: number) => Promise<number>;

/** Runs `count` attempts at once; returns the wall time and each attempt's latency. */
async function burst(attempt: Attempt, host: string, count: number, timeoutMs: number): Promise<{ wallMs: number; latencies: number[] }> {
  const start = performance.now();
  const latencies = await Promise.all(Array.from({ length: count }, () => attempt(host, timeoutMs)));
  return { wallMs: performance.now() - start, latencies };
}

async function main(): Promise<void> {
  requireCaptureHost();
  const world = new TestWorld();
  const instance = `bench${world.id}`;
  const servers: net.Server[] = [];
  const redirect = await openRedirect({ instance });
  try {
    const pod = world.addNetns('bench');
    // 10.219.0.9 has a permanent neighbour entry, so SYNs leave on the veth
    // and its peer (no address) drops them: no answer, no error.
    ipIn(pod.name, 'link', 'add', `vx${world.id}`, 'type', 'veth', 'peer', 'name', `vy${world.id}`);
    ipIn(pod.name, 'addr', 'add', '10.219.0.1/24', 'dev', `vx${world.id}`);
    ipIn(pod.name, 'link', 'set', `vx${world.id}`, 'up');
    ipIn(pod.name, 'link', 'set', `vy${world.id}`, 'up');
    ipIn(pod.name, 'neigh', 'add', BLACK_HOLE, 'lladdr', '02:00:00:00:00:09', 'dev', `vx${world.id}`, 'nud', 'permanent');
    const fd = await redirect.listenInPod(pod.path, '127.0.0.1', PORT, { backlog: 4096 });
    servers.push(net.createServer((s) => s.destroy()).listen({ fd, backlog: 4096 }));
    const host = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => host.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
    servers.push(host);
    const hostPort = (host.address() as net.AddressInfo).port;

    const inPod: Attempt = async (target, timeoutMs) => {
      const start = performance.now();
      try {
        const s = await redirect.connectInPod(pod.path, target, PORT, { timeoutMs });
        s.destroy();
      } catch {
        // the black hole: timed out, as expected
      }
      return performance.now() - start;
    };
    const baseline: Attempt = (target, timeoutMs) =>
      new Promise((resolve) => {
        const start = performance.now();
        const s = net.connect({ host: target, port: hostPort });
        const done = (): void => {
          clearTimeout(timer);
          s.destroy();
          resolve(performance.now() - start);
        };
        const timer = setTimeout(done, timeoutMs);
        s.once('connect', done).once('error', done);
      });

    const base = await burst(baseline, '127.0.0.1', CONNECTS, 60_000);
    const listening = await burst(inPod, '127.0.0.1', CONNECTS, 60_000);

    const holes = burst(inPod, BLACK_HOLE, CONNECTS, DEADLINE_MS);
    const probeStart = performance.now();
    const statMs = fs.promises.stat('/').then(() => performance.now() - probeStart);
    const probes = await burst(inPod, '127.0.0.1', PROBES, 60_000);
    const stat = await statMs;
    const hole = await holes;

    console.log(`netns-connect: ${CONNECTS} concurrent connects, deadline ${DEADLINE_MS} ms, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
    console.log(fmt(`baseline: net.connect in the agent's netns, listening`, base.wallMs, stats(base.latencies)));
    console.log(fmt('connectInPod, listening port', listening.wallMs, stats(listening.latencies)));
    console.log(`  ratio to baseline (wall)                             ${(listening.wallMs / base.wallMs).toFixed(2)}`);
    console.log(fmt(`connectInPod, black hole (all give up)`, hole.wallMs, stats(hole.latencies)));
    console.log(fmt(`${PROBES} connectInPod to the listening port meanwhile`, probes.wallMs, stats(probes.latencies)));
    console.log(`  fs.stat meanwhile (libuv pool)                       ${stat.toFixed(2)} ms`);
  } finally {
    for (const s of servers) s.close();
    redirect.close();
    await destroyInstance(instance);
    await world.remove();
  }
}

await main();
