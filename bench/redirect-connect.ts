/**
 * Capture cost on the connect path, on the real kernel:
 *   - connect() latency and connections per second from inside a pod, to the
 *     same in-pod 127.0.0.1:15001 listener, (a) unenrolled, connecting to it
 *     directly, and (b) enrolled, connecting to an outside address that
 *     connect4 rewrites to it (record + rewrite in connect4, sockops filing
 *     the 4-tuple record). The difference is what capture adds.
 *   - original-destination lookups per second (the 4-tuple key built from the
 *     socket's addresses + one LRU lookup) for a socket accepted on 15001.
 * A small C client runs in the pod so the figures are the syscall's, not
 * Node's event loop. Prints median, min, max over rounds and the ratio.
 *
 * Run (root): node --import tsx bench/redirect-connect.ts [--rounds 7] [--connects 5000]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { destroyInstance, openRedirect, type Redirect } from '../src/ztunnel/redirect/index.js';
import { TestWorld, ipIn, requireCaptureHost } from '../test/support/netns-min.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const ROUNDS = arg('--rounds', 7);
const CONNECTS = arg('--connects', 5000);
const LOOKUPS = 200_000;

// Listens on 0.0.0.0:15001 (accepting on a thread), then per round times
// CONNECTS blocking connect() calls to host:port, closing each with RST so no
// TIME_WAIT piles up. Prints one line per round: median_ns min_ns max_ns conns_per_s.
const CLIENT_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static int lfd;
static void *acceptor(void *arg) { (void)arg; for (;;) { int c = accept(lfd, 0, 0); if (c >= 0) close(c); } return 0; }
static long long now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static int cmp(const void *a, const void *b) { long long x = *(const long long *)a, y = *(const long long *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  const char *host = argv[1]; int port = atoi(argv[2]), n = atoi(argv[3]), rounds = atoi(argv[4]);
  struct sockaddr_in l = { .sin_family = AF_INET, .sin_port = htons(15001) }, d = { .sin_family = AF_INET, .sin_port = htons(port) };
  int one = 1; struct linger lg = { 1, 0 }; pthread_t t;
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&l, sizeof l) || listen(lfd, 4096)) { perror("listen"); return 1; }
  pthread_create(&t, 0, acceptor, 0);
  inet_pton(AF_INET, host, &d.sin_addr);
  long long *lat = calloc(n, sizeof *lat);
  for (int r = 0; r < rounds; r++) {
    long long start = now_ns();
    for (int i = 0; i < n; i++) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      long long t0 = now_ns();
      if (connect(s, (struct sockaddr *)&d, sizeof d)) { perror("connect"); return 1; }
      lat[i] = now_ns() - t0;
      close(s);
    }
    long long total = now_ns() - start;
    qsort(lat, n, sizeof *lat, cmp);
    printf("%lld %lld %lld %.0f\n", lat[n / 2], lat[0], lat[n - 1], n * 1e9 / total);
    fflush(stdout);
  }
  return 0;
}
`;

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

function fmt(s: Stats, unit: string, digits = 2): string {
  return `median ${s.median.toFixed(digits)} ${unit}  min ${s.min.toFixed(digits)}  max ${s.max.toFixed(digits)}`;
}

interface RoundFigures {
  medianUs: number[];
  connsPerSecond: number[];
}

async function runClient(
  world: TestWorld,
  binary: string,
  cgroup: string,
  netns: string,
  host: string,
  port: number,
): Promise<RoundFigures> {
  const out = await world.runIn(cgroup, netns, [binary, host, String(port), String(CONNECTS), '1'], 120_000);
  if (out.code !== 0) throw new Error(`connect client failed (${out.code}): ${out.stderr}`);
  const [median, , , rate] = out.stdout.trim().split(' ').map(Number);
  return { medianUs: [(median as number) / 1000], connsPerSecond: [rate as number] };
}

async function main(): Promise<void> {
  requireCaptureHost();
  const world = new TestWorld();
  const instance = `bench${world.id}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-bench-redirect-'));
  let redirect: Redirect | undefined;
  const servers: net.Server[] = [];
  try {
    const binary = path.join(tmp, 'connect-client');
    fs.writeFileSync(`${binary}.c`, CLIENT_C);
    execFileSync('cc', ['-O2', '-pthread', '-o', binary, `${binary}.c`]);

    const pod = world.addNetns('bench');
    const cgroup = world.addCgroup('bench');
    const veth = `vx${world.id}`;
    ipIn(pod.name, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `vy${world.id}`);
    ipIn(pod.name, 'addr', 'add', '10.210.0.2/24', 'dev', veth);
    ipIn(pod.name, 'link', 'set', veth, 'up');
    ipIn(pod.name, 'link', 'set', `vy${world.id}`, 'up');

    redirect = await openRedirect({ instance });
    const inboundFd = await redirect.listenInPod(pod.path, '::', 15006);
    const inbound = net.createServer((s) => s.destroy()).listen({ fd: inboundFd });
    servers.push(inbound);
    const enrollment = {
      uid: `bench-${world.id}`,
      cgroupPath: cgroup,
      netnsPath: pod.path,
      ips: ['10.210.0.2'],
      inboundListenerFd: inboundFd,
    };

    const direct: RoundFigures = { medianUs: [], connsPerSecond: [] };
    const captured: RoundFigures = { medianUs: [], connsPerSecond: [] };
    // Alternate the two modes so drift on the machine affects both alike.
    for (let round = 0; round < ROUNDS; round++) {
      await redirect.unenrollPod(enrollment.uid);
      const d = await runClient(world, binary, cgroup, pod.name, '127.0.0.1', 15001);
      await redirect.enrollPod(enrollment);
      const c = await runClient(world, binary, cgroup, pod.name, '10.210.0.1', 9000);
      direct.medianUs.push(...d.medianUs);
      direct.connsPerSecond.push(...d.connsPerSecond);
      captured.medianUs.push(...c.medianUs);
      captured.connsPerSecond.push(...c.connsPerSecond);
    }

    // Original-destination lookups on one accepted socket.
    const outboundFd = await redirect.listenInPod(pod.path, '::', 15001);
    const accepted = new Promise<net.Socket>((resolve) => {
      const server = net.createServer((s) => resolve(s)).listen({ fd: outboundFd });
      servers.push(server);
    });
    const clientDone = world.runIn(cgroup, pod.name, [
      'node',
      '-e',
      "const s=require('net').connect(9000,'10.210.0.1');setTimeout(()=>s.destroy(),3000)",
    ]);
    const socket = await accepted;
    const r = redirect;
    const lookupRates: number[] = [];
    let found = r.originalDestination(socket, pod.path);
    for (let round = 0; round < ROUNDS; round++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < LOOKUPS; i++) found = r.originalDestination(socket, pod.path);
      lookupRates.push(LOOKUPS / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    socket.destroy();
    await clientDone;

    const dLat = stats(direct.medianUs);
    const cLat = stats(captured.medianUs);
    const dRate = stats(direct.connsPerSecond);
    const cRate = stats(captured.connsPerSecond);
    console.log(`redirect-connect: ${ROUNDS} rounds x ${CONNECTS} connects, kernel ${os.release()}, ${os.cpus().length} CPUs`);
    console.log(`  connect() latency, unenrolled -> 127.0.0.1:15001   ${fmt(dLat, 'us')}`);
    console.log(`  connect() latency, enrolled (captured) -> 15001    ${fmt(cLat, 'us')}`);
    console.log(`  capture adds (median of medians)                   ${(cLat.median - dLat.median).toFixed(2)} us, ratio ${(cLat.median / dLat.median).toFixed(3)}`);
    console.log(`  connections/s, unenrolled                          ${fmt(dRate, '/s', 0)}`);
    console.log(`  connections/s, enrolled                            ${fmt(cRate, '/s', 0)}  ratio ${(cRate.median / dRate.median).toFixed(3)}`);
    console.log(`  originalDestination lookups/s                      ${fmt(stats(lookupRates), '/s', 0)}  (found ${found?.address}:${found?.port})`);
  } finally {
    for (const s of servers) s.close();
    redirect?.close();
    await destroyInstance(instance);
    await world.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
