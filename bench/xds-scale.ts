/**
 * xDS at scale: 10,000 ambient pods and 2,000 services in a ConfigStore,
 * served through the AmbientIndex by the XdsServer to 100 delta clients in
 * a child process (so this process's RSS is istiod's alone).
 *
 *   node --import tsx bench/xds-scale.ts [--pods 10000] [--services 2000] [--clients 100] [--changes 50]
 *     [--debounce-ms 0] [--push-throttle 10] [--client-window-bytes 0]
 *
 * Debounce is 0 so the change latency is the server's own (the default
 * 100 ms debounce adds up to 100 ms). `--client-window-bytes` sets the
 * clients' HTTP/2 receive window (0 = the 64 KiB default). A change is a
 * pod's readiness flipping, which rewrites that one workload.
 *
 * Prints figures, never pass/fail. Baselines measured in the same run: the
 * cost of encoding the full Address snapshot, and one client alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { Registry } from 'prom-client';
import { ConfigStore } from '../src/istiod/config/store.js';
import { AmbientIndex, podUid } from '../src/istiod/index/index.js';
import {
  XdsServer,
  listenXds,
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  DEFAULT_PUSH_THROTTLE,
} from '../src/istiod/xds/index.js';
import { encodeDeltaResponse } from '../src/istiod/xds/encode.js';
import { adsServiceDefinition } from '../src/shared/grpc/services.js';
import { NodeSchema } from '../src/gen/envoy/config/core/v3/base_pb.js';
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
} from '../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { namespace, pod, service } from '../test/support/config-objects.js';

// ---------------------------------------------------------------- shared

type ToChild =
  | { cmd: 'connect'; address: string; count: number; prefix: string; flowWindowBytes: number }
  | { cmd: 'watch'; seq: number; name: string }
  | { cmd: 'close' };

type FromChild =
  | { kind: 'ready' }
  | { kind: 'synced'; startNs: string; doneNs: string[]; resources: number[]; cpuMs: number }
  | { kind: 'converged'; seq: number; doneNs: string[] }
  | { kind: 'closed' };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: "${process.argv[i + 1]}" is not a number`);
  return v;
}

// ---------------------------------------------------------------- child: the clients

interface LiteResponse {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly names: string[];
  readonly removed: string[];
}

/**
 * Reads only type_url, nonce, resource names and removed names: the clients
 * share a process and must not spend its CPU on decoding 10,000 workloads.
 */
function parseDeltaResponse(buf: Buffer): LiteResponse {
  const r = new BinaryReader(buf);
  const names: string[] = [];
  const removed: string[] = [];
  let typeUrl = '';
  let nonce = '';
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 2) names.push(resourceName(r.bytes()));
    else if (field === 4) typeUrl = r.string();
    else if (field === 5) nonce = r.string();
    else if (field === 6) removed.push(r.string());
    else r.skip(wireType);
  }
  return { typeUrl, nonce, names, removed };
}

function resourceName(bytes: Uint8Array): string {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 3) return r.string();
    r.skip(wireType);
  }
  return '';
}

function liteAdsClient(): grpc.ServiceClientConstructor {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [k, m] of Object.entries(adsServiceDefinition)) {
    def[k] = { ...m, responseDeserialize: (b: Buffer) => parseDeltaResponse(b) };
  }
  return grpc.makeGenericClientConstructor(def, 'AggregatedDiscoveryService');
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

function runChild(): void {
  const Client = liteAdsClient();
  const clients: grpc.Client[] = [];
  const calls: grpc.ClientDuplexStream<DeltaDiscoveryRequest, LiteResponse>[] = [];
  let watch: { seq: number; name: string; doneNs: (bigint | undefined)[]; left: number } | undefined;
  const send = (m: FromChild): void => {
    process.send?.(m);
  };

  process.on('message', (msg: ToChild) => {
    if (msg.cmd === 'connect') {
      const startNs = process.hrtime.bigint();
      const startCpu = process.cpuUsage();
      const doneNs: (bigint | undefined)[] = new Array(msg.count).fill(undefined);
      const resources: number[] = new Array(msg.count).fill(0);
      let left = msg.count;
      const base = calls.length;
      for (let i = 0; i < msg.count; i++) {
        const client = new Client(msg.address, grpc.credentials.createInsecure(), {
          'grpc.max_receive_message_length': 200 * 1024 * 1024,
          // A receive window large enough for a full sync (HTTP/2's 64 KiB default turns a 3 MiB sync into ~50 round trips).
          ...(msg.flowWindowBytes > 0 ? { 'grpc-node.flow_control_window': msg.flowWindowBytes } : {}),
        });
        const call = (
          client as unknown as {
            deltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, LiteResponse>;
          }
        ).deltaAggregatedResources();
        clients.push(client);
        const index = calls.length;
        calls.push(call);
        call.on('data', (resp: LiteResponse) => {
          const now = process.hrtime.bigint();
          call.write(
            create(DeltaDiscoveryRequestSchema, { typeUrl: resp.typeUrl, responseNonce: resp.nonce }),
          );
          if (resp.typeUrl !== ADDRESS_TYPE_URL) return;
          const j = index - base;
          if (j >= 0 && j < msg.count && doneNs[j] === undefined) {
            doneNs[j] = now;
            resources[j] = resp.names.length;
            if (--left === 0)
              send({
                kind: 'synced',
                startNs: String(startNs),
                doneNs: doneNs.map(String),
                resources,
                cpuMs: cpuMs(process.cpuUsage(startCpu)),
              });
            return;
          }
          if (watch !== undefined && watch.doneNs[index] === undefined && resp.names.includes(watch.name)) {
            watch.doneNs[index] = now;
            if (--watch.left === 0)
              send({ kind: 'converged', seq: watch.seq, doneNs: watch.doneNs.map(String) });
          }
        });
        call.on('error', () => undefined);
        const node = create(NodeSchema, {
          id: `ztunnel~10.255.${i >> 8}.${i & 255}~${msg.prefix}-${i}.istio-system~istio-system.svc.cluster.local`,
          metadata: { NODE_NAME: `node-${i}` },
        });
        call.write(create(DeltaDiscoveryRequestSchema, { typeUrl: ADDRESS_TYPE_URL, node }));
        call.write(create(DeltaDiscoveryRequestSchema, { typeUrl: AUTHORIZATION_TYPE_URL }));
      }
    } else if (msg.cmd === 'watch') {
      watch = {
        seq: msg.seq,
        name: msg.name,
        doneNs: new Array(calls.length).fill(undefined),
        left: calls.length,
      };
    } else if (msg.cmd === 'close') {
      for (const c of calls) c.cancel();
      for (const c of clients) c.close();
      calls.length = 0;
      clients.length = 0;
      send({ kind: 'closed' });
    }
  });
  send({ kind: 'ready' });
}

// ---------------------------------------------------------------- parent: istiod

class ClientProcess {
  private readonly child: ChildProcess;
  private readonly waiters: ((m: FromChild) => void)[] = [];
  private readonly inbox: FromChild[] = [];

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--child'], {
      execArgv: ['--import', 'tsx'],
      stdio: 'inherit',
    });
    this.child.on('message', (m: FromChild) => {
      const w = this.waiters.shift();
      if (w !== undefined) w(m);
      else this.inbox.push(m);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(m: ToChild): void {
    this.child.send(m);
  }

  next(timeoutMs = 120_000): Promise<FromChild> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`client process: no message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  async expect<K extends FromChild['kind']>(kind: K): Promise<Extract<FromChild, { kind: K }>> {
    const m = await this.next();
    if (m.kind !== kind) throw new Error(`client process: expected ${kind}, got ${m.kind}`);
    return m as Extract<FromChild, { kind: K }>;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

function stats(values: readonly number[]): {
  median: number;
  min: number;
  max: number;
  p50: number;
  p99: number;
} {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
  return { median: q(0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, p50: q(0.5), p99: q(0.99) };
}

/** A full garbage collection, so RSS figures are not just garbage not yet collected. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
}

function memory(): string {
  const m = process.memoryUsage();
  return `rss ${mb(m.rss)} (heap used ${mb(m.heapUsed)}, external ${mb(m.external)})`;
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function buildStore(podCount: number, serviceCount: number, namespaceCount: number): ConfigStore {
  const store = new ConfigStore();
  store.batch(() => {
    for (let n = 0; n < namespaceCount; n++)
      store.upsert(namespace(`ns-${n}`, { 'istio.io/dataplane-mode': 'ambient' }));
    for (let s = 0; s < serviceCount; s++) {
      store.upsert(
        service({
          name: `svc-${s}`,
          namespace: `ns-${s % namespaceCount}`,
          selector: { app: `svc-${s}` },
          clusterIP: `10.96.${(s >> 8) & 255}.${s & 255}`,
          ports: [{ port: 80, name: 'http', targetPort: 8080 }],
        }),
      );
    }
    for (let p = 0; p < podCount; p++) {
      const s = p % serviceCount;
      store.upsert(
        pod({
          name: `pod-${p}`,
          namespace: `ns-${s % namespaceCount}`,
          labels: { app: `svc-${s}` },
          ip: `10.${64 + ((p >> 16) & 63)}.${(p >> 8) & 255}.${p & 255}`,
          node: `node-${p % 100}`,
          serviceAccount: `sa-${s}`,
          containerPorts: [{ containerPort: 8080 }],
        }),
      );
    }
  });
  return store;
}

async function runParent(): Promise<void> {
  const podCount = arg('pods', 10_000);
  const serviceCount = arg('services', 2_000);
  const clientCount = arg('clients', 100);
  const changeCount = arg('changes', 50);
  const debounceMs = arg('debounce-ms', 0);
  const flowWindowBytes = arg('client-window-bytes', 0);
  const pushThrottle = arg('push-throttle', DEFAULT_PUSH_THROTTLE);
  const namespaceCount = Math.max(1, Math.min(100, serviceCount));

  console.log(
    `xds-scale: ${podCount} pods, ${serviceCount} services, ${namespaceCount} namespaces, ${clientCount} delta clients (child process), ` +
      `debounce ${debounceMs} ms, push throttle ${pushThrottle}, client HTTP/2 window ${flowWindowBytes > 0 ? `${flowWindowBytes} B` : 'default'}`,
  );
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);

  const rssStart = process.memoryUsage().rss;
  let t = performance.now();
  const store = buildStore(podCount, serviceCount, namespaceCount);
  const storeMs = performance.now() - t;
  t = performance.now();
  const index = new AmbientIndex(store, {
    trustDomain: 'cluster.local',
    clusterId: 'Kubernetes',
    rootNamespace: 'istio-system',
    domainSuffix: 'cluster.local',
    network: '',
  });
  const indexMs = performance.now() - t;
  const addresses = [...index.resources(ADDRESS_TYPE_URL).values()];
  const snapshotBytes = addresses.reduce((s, r) => s + r.value.length, 0);
  console.log(
    `\nsetup: store ${ms(storeMs)}, ambient index ${ms(indexMs)}; ${addresses.length} Address resources (${mb(snapshotBytes)} encoded), ${index.resources(AUTHORIZATION_TYPE_URL).size} Authorization`,
  );

  // Baseline 1: encoding the whole Address snapshot as one response.
  t = performance.now();
  const cold = encodeDeltaResponse({
    systemVersionInfo: '0',
    typeUrl: ADDRESS_TYPE_URL,
    nonce: 'x',
    resources: addresses,
    removed: [],
  });
  const encodeColdMs = performance.now() - t;
  const warmRuns: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    encodeDeltaResponse({
      systemVersionInfo: '0',
      typeUrl: ADDRESS_TYPE_URL,
      nonce: 'x',
      resources: addresses,
      removed: [],
    });
    warmRuns.push(performance.now() - t);
  }
  // For comparison: protobuf-es encoding of the same response message without the cache.
  t = performance.now();
  toBinary(
    (await import('../src/gen/envoy/service/discovery/v3/discovery_pb.js')).DeltaDiscoveryResponseSchema,
    create(
      (await import('../src/gen/envoy/service/discovery/v3/discovery_pb.js')).DeltaDiscoveryResponseSchema,
      {
        typeUrl: ADDRESS_TYPE_URL,
        nonce: 'x',
        resources: addresses.map((r) => ({
          name: r.name,
          version: r.version,
          aliases: [...(r.aliases ?? [])],
          resource: { typeUrl: ADDRESS_TYPE_URL, value: r.value },
        })),
      },
    ),
  );
  const protobufEsMs = performance.now() - t;
  const warm = stats(warmRuns);
  console.log(
    `baseline encode of the full snapshot (${mb(cold.length)}): cold (every resource encoded) ${ms(encodeColdMs)}, ` +
      `repeated (reused block) median ${ms(warm.median)} (min ${ms(warm.min)}, max ${ms(warm.max)}); ` +
      `protobuf-es toBinary of the same message ${ms(protobufEsMs)} (cold/protobuf-es ${(encodeColdMs / protobufEsMs).toFixed(2)}x)`,
  );

  const xds = new XdsServer({
    source: index,
    registry: new Registry(),
    debounceMs,
    pushThrottle,
    sendTimeoutMs: 60_000,
  });
  const listeners = await listenXds(xds, { plaintextAddress: '127.0.0.1:0' });
  const address = `127.0.0.1:${listeners.plaintextPort}`;
  const child = new ClientProcess();
  let seq = 0;
  const sampler = { peakRss: 0, timer: undefined as NodeJS.Timeout | undefined };
  sampler.timer = setInterval(() => {
    sampler.peakRss = Math.max(sampler.peakRss, process.memoryUsage().rss);
  }, 20);

  const syncRound = async (
    count: number,
    prefix: string,
  ): Promise<{ times: number[]; resources: number[]; clientCpuMs: number }> => {
    child.send({ cmd: 'connect', address, count, prefix, flowWindowBytes });
    const m = await child.expect('synced');
    const start = BigInt(m.startNs);
    return {
      times: m.doneNs.map((d) => Number(BigInt(d) - start) / 1e6),
      resources: m.resources,
      clientCpuMs: m.cpuMs,
    };
  };

  const changeRound = async (
    n: number,
    clients: number,
  ): Promise<{ toAll: number[]; perClient: number[] }> => {
    const toAll: number[] = [];
    const perClient: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = (i * 7919) % podCount;
      const s = p % serviceCount;
      const ns = `ns-${s % namespaceCount}`;
      const name = podUid('Kubernetes', ns, `pod-${p}`);
      child.send({ cmd: 'watch', seq: ++seq, name });
      await new Promise((r) => setTimeout(r, 5));
      const current = store.find('Pod', ns, `pod-${p}`);
      if (current === undefined) throw new Error(`pod ${ns}/pod-${p} missing`);
      const ready = current.status?.conditions?.[0]?.status !== 'True';
      const t0 = process.hrtime.bigint();
      store.upsert({
        ...current,
        status: { ...current.status, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
      });
      const m = await child.expect('converged');
      const lat = m.doneNs.map((d) => Number(BigInt(d) - t0) / 1e6);
      toAll.push(Math.max(...lat));
      perClient.push(...lat);
      if (lat.length !== clients) throw new Error(`expected ${clients} clients, got ${lat.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { toAll, perClient };
  };

  try {
    await child.expect('ready');

    // Baseline 2: one client alone.
    const single = await syncRound(1, 'single');
    const singleChanges = await changeRound(Math.min(20, changeCount), 1);
    child.send({ cmd: 'close' });
    await child.expect('closed');
    await new Promise((r) => setTimeout(r, 200));
    const bytesBefore = await totalBytes(xds);

    collectGarbage();
    const memBeforeClients = memory();
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const many = await syncRound(clientCount, 'zt');
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - wallBefore;
    const memAfterSync = memory();
    const bytesAfterSync = await totalBytes(xds);
    const changes = await changeRound(changeCount, clientCount);
    const bytesEnd = await totalBytes(xds);

    const s1 = single.times[0] ?? NaN;
    const sync = stats(many.times);
    const all = stats(changes.toAll);
    const per = stats(changes.perClient);
    const one = stats(singleChanges.toAll);
    console.log(`\nfull sync, one client alone: ${ms(s1)} (${single.resources[0]} resources)`);
    console.log(
      `full sync, ${clientCount} clients at once: median ${ms(sync.median)}, min ${ms(sync.min)}, max ${ms(sync.max)}, p99 ${ms(sync.p99)} ` +
        `(median/alone ${(sync.median / s1).toFixed(1)}x, max/alone ${(sync.max / s1).toFixed(1)}x; each got ${Math.min(...many.resources)}..${Math.max(...many.resources)} resources)`,
    );
    console.log(
      `istiod CPU during the ${clientCount}-client sync: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms over ${wallMs.toFixed(0)} ms wall ` +
        `(${((cpu.user + cpu.system) / 10 / wallMs).toFixed(0)}% of one core); the client process used ${many.clientCpuMs.toFixed(0)} ms`,
    );
    console.log(
      `single change to one client alone (${singleChanges.toAll.length} changes): p50 ${ms(one.p50)}, p99 ${ms(one.p99)}, max ${ms(one.max)}`,
    );
    console.log(
      `single change to all ${clientCount} clients (${changes.toAll.length} changes): p50 ${ms(all.p50)}, p99 ${ms(all.p99)}, min ${ms(all.min)}, max ${ms(all.max)} ` +
        `(p50 vs one client ${(all.p50 / one.p50).toFixed(1)}x); per client p50 ${ms(per.p50)}, p99 ${ms(per.p99)}`,
    );
    console.log(
      `bytes sent: full sync to ${clientCount} clients ${mb(bytesAfterSync - bytesBefore)} (${mb((bytesAfterSync - bytesBefore) / clientCount)} each), ` +
        `${changes.toAll.length} changes ${((bytesEnd - bytesAfterSync) / 1024).toFixed(1)} KiB (${((bytesEnd - bytesAfterSync) / changes.toAll.length / clientCount).toFixed(0)} B per change per client)`,
    );
    clearInterval(sampler.timer);
    const rssEnd = process.memoryUsage().rss;
    collectGarbage();
    // ArrayBuffer backing stores are released by a sweeper after the collection.
    await new Promise((r) => setTimeout(r, 500));
    collectGarbage();
    console.log(`istiod memory at start: rss ${mb(rssStart)}`);
    console.log(`istiod memory with the index built, after GC, before clients: ${memBeforeClients}`);
    console.log(`istiod memory right after ${clientCount} full syncs: ${memAfterSync}`);
    console.log(
      `istiod memory at the end, after GC: ${memory()}; peak RSS sampled every 20 ms: ${mb(Math.max(sampler.peakRss, rssEnd))}`,
    );
    console.log(
      'targets: change to all 100 clients p99 < 100 ms; full sync of 10,000 workloads to one client < 1 s; RSS < 300 MB',
    );
  } finally {
    clearInterval(sampler.timer);
    child.send({ cmd: 'close' });
    await Promise.race([
      child.expect('closed').catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    child.kill();
    await xds.close(1000);
    await listeners.close(1000);
    index.close();
  }
}

async function totalBytes(xds: XdsServer): Promise<number> {
  const m = await xds.registry.getSingleMetric('pilot_xds_config_size_bytes')?.get();
  const values = (m?.values ?? []) as readonly { metricName?: string; value: number }[];
  return values
    .filter((v) => v.metricName === 'pilot_xds_config_size_bytes_sum')
    .reduce((s, v) => s + v.value, 0);
}

if (process.argv.includes('--child')) {
  runChild();
} else {
  runParent().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
