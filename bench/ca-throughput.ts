/**
 * CA issuance throughput: certificates per second for ECDSA P-256 and RSA
 * 2048 CSRs, for an RSA 2048 CA (istiod's default) and an ECDSA P-256 CA,
 *   - through the signing function on the calling thread (parse + check the CSR, build, sign),
 *   - through the signing function with CSR checks and signatures on the thread pool (32 in flight),
 *   - through gRPC CreateCertificate on 127.0.0.1 (plaintext, 32 in flight), with the client
 *     in this process, and with the client in a child process (so only the server's CPU counts),
 * next to Node's bare crypto.sign with the CA key, and to
 * `openssl speed -seconds 3 ecdsap256 rsa2048` run once per round in the same
 * run. Prints median, min and max over several rounds, and
 * ours/openssl against openssl's single-thread sign rate for the CA's key type.
 *
 * Run: node --import tsx bench/ca-throughput.ts [--rounds 5] [--round-ms 1000]
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sign as cryptoSign } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import {
  IstioCertificateRequestSchema,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../src/gen/istio/v1/auth/ca_pb.js';
import { createCsr } from '../src/shared/pki/index.js';
import {
  CaService,
  caMaterialFromPem,
  CertificateSigner,
  generateAuthority,
  generateKey,
  NodeTokenAuthenticator,
  parseCsr,
  parseCsrAsync,
  type CaKeyType,
} from '../src/istiod/ca/index.js';
import { caServiceDefinition } from '../src/shared/grpc/services.js';
import { silentLogger } from '../src/shared/logging.js';

const IDENTITY = 'spiffe://cluster.local/ns/bench/sa/bench';
const TOKEN = 'bench-node-token-0123456789abcdef';
const IN_FLIGHT = 32;
const CSRS_PER_KIND = 64;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const ROUNDS = arg('--rounds', 5);
const ROUND_MS = arg('--round-ms', 1000);

interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stats(rates: readonly number[]): Stats {
  const sorted = [...rates].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** One unit of work: issues some certificates and returns how many. */
type Op = () => Promise<number> | number;

/** Certificates per wall-clock second, and per CPU-second of this process (user + system, all threads). */
interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

/** Runs `op` repeatedly for `ms` milliseconds. */
async function oneRound(op: Op, ms: number): Promise<Rate> {
  let done = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const deadline = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < deadline) done += await op();
  const cpu = process.cpuUsage(cpuStart);
  return {
    wall: done / (Number(process.hrtime.bigint() - start) / 1e9),
    cpu: done / ((cpu.user + cpu.system) / 1e6),
  };
}

function opensslSignRates(): Record<CaKeyType, number> {
  const out = spawnSync('openssl', ['speed', '-seconds', '3', 'ecdsap256', 'rsa2048'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (out.status !== 0) throw new Error(`openssl speed failed: ${out.stderr}`);
  const rsa = /^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)/m.exec(out.stdout);
  const ec = /^\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)/m.exec(out.stdout);
  if (rsa?.[1] === undefined || ec?.[1] === undefined)
    throw new Error(`cannot read openssl speed output:\n${out.stdout}`);
  return { 'rsa-2048': Number(rsa[1]), 'ecdsa-p256': Number(ec[1]) };
}

type CaClient = grpc.Client & {
  createCertificate(
    req: IstioCertificateRequest,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
};
const CaClientCtor = grpc.makeGenericClientConstructor(
  caServiceDefinition,
  'IstioCertificateService',
) as unknown as new (address: string, credentials: grpc.ChannelCredentials) => CaClient;

interface Row {
  readonly caKey: CaKeyType;
  readonly csrKind: string;
  readonly path: string;
  /** One measured round of `ms` milliseconds. */
  readonly round: (ms: number) => Promise<Rate>;
  readonly rates: Rate[];
}

/** A row measured by repeating `op` on this thread. */
function localRow(caKey: CaKeyType, csrKind: string, path: string, op: Op): Row {
  return { caKey, csrKind, path, round: (ms) => oneRound(op, ms), rates: [] };
}

const SELF = fileURLToPath(import.meta.url);

/**
 * A gRPC client in a child process, driven over its stdin/stdout: "run <ms>"
 * answers "done <count>". The server's process then pays only for serving.
 */
class ChildClient {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
  ) {}

  static async start(port: number, csrKey: CaKeyType): Promise<ChildClient> {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--client', String(port), csrKey]);
    child.stderr.pipe(process.stderr);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.value !== 'ready') throw new Error(`bench client did not start: ${String(first.value)}`);
    return new ChildClient(child, lines);
  }

  async round(ms: number): Promise<Rate> {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    this.child.stdin.write(`run ${ms}\n`);
    const line = await this.lines.next();
    const cpu = process.cpuUsage(cpuStart);
    const done = Number(String(line.value).split(' ')[1]);
    if (!Number.isFinite(done)) throw new Error(`bench client answered ${String(line.value)}`);
    return {
      wall: done / (Number(process.hrtime.bigint() - start) / 1e9),
      cpu: done / ((cpu.user + cpu.system) / 1e6),
    };
  }

  async close(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.stdin.end('exit\n');
    const timer = setTimeout(() => this.child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The child side of ChildClient. */
async function clientMain(port: number, csrKey: CaKeyType): Promise<void> {
  const requests = Array.from({ length: CSRS_PER_KIND }, () =>
    create(IstioCertificateRequestSchema, { csr: createCsr(generateKey(csrKey), { uris: [IDENTITY] }) }),
  );
  const client = new CaClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  let i = 0;
  const one = (): Promise<void> =>
    new Promise<void>((resolve, reject) =>
      client.createCertificate(requests[i++ % requests.length] as IstioCertificateRequest, md, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  await one();
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, arg] = line.split(' ');
    if (command !== 'run') break;
    const deadline = Date.now() + Number(arg);
    let done = 0;
    while (Date.now() < deadline) {
      await Promise.all(Array.from({ length: IN_FLIGHT }, one));
      done += IN_FLIGHT;
    }
    process.stdout.write(`done ${done}\n`);
  }
  client.close();
}

async function main(): Promise<void> {
  const fmt = (n: number): string => n.toFixed(0).padStart(7);
  console.log(
    `ca-throughput: ${ROUNDS} rounds of ${ROUND_MS} ms per row, ${IN_FLIGHT} in flight on the async and gRPC paths, node ${process.version}`,
  );

  const csrs: Record<string, string[]> = {
    'ECDSA P-256': Array.from({ length: CSRS_PER_KIND }, () =>
      createCsr(generateKey('ecdsa-p256'), { uris: [IDENTITY] }),
    ),
    'RSA 2048': Array.from({ length: CSRS_PER_KIND }, () =>
      createCsr(generateKey('rsa-2048'), { uris: [IDENTITY] }),
    ),
  };

  const rows: Row[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  for (const caKey of ['rsa-2048', 'ecdsa-p256'] as CaKeyType[]) {
    const root = generateAuthority({ trustDomain: 'cluster.local', keyType: caKey });
    const material = caMaterialFromPem({
      trustDomain: 'cluster.local',
      source: 'in-memory',
      caCertPem: root.certPem,
      caKeyPem: root.keyPem,
    });
    const signer = new CertificateSigner(material);
    const service = new CaService({
      signer,
      authenticator: new NodeTokenAuthenticator([{ token: TOKEN, node: 'bench-node' }]),
      nodeIdentities: { identitiesOnNode: () => new Set([IDENTITY]) },
      registry: new Registry(),
      logger: silentLogger,
    });
    const server = new grpc.Server();
    service.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const client = new CaClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    cleanups.push(async () => {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);

    // The floor: Node's crypto.sign alone with the CA key over a certificate-sized input.
    const tbs = Buffer.alloc(400, 1);
    rows.push(
      localRow(caKey, '-', 'crypto.sign alone', () => {
        cryptoSign(material.issuer.algorithm.digest, tbs, material.signingKey);
        return 1;
      }),
    );

    for (const [csrKind, list] of Object.entries(csrs)) {
      let i = 0;
      const next = (): string => list[i++ % list.length] as string;
      const requests = list.map((csr) => create(IstioCertificateRequestSchema, { csr }));
      const nextRequest = (): IstioCertificateRequest =>
        requests[i++ % requests.length] as IstioCertificateRequest;
      const paths: [string, Op][] = [
        [
          'sign function, sync',
          () => {
            signer.issueWorkloadCertificateSync(parseCsr(next()).subjectPublicKeyInfoDer, IDENTITY, 0);
            return 1;
          },
        ],
        [
          'sign function, async',
          async () => {
            await Promise.all(
              Array.from({ length: IN_FLIGHT }, async () => {
                const csr = await parseCsrAsync(next());
                return signer.issueWorkloadCertificate(csr.subjectPublicKeyInfoDer, IDENTITY, 0);
              }),
            );
            return IN_FLIGHT;
          },
        ],
        [
          'gRPC, client in-process',
          async () => {
            await Promise.all(
              Array.from(
                { length: IN_FLIGHT },
                () =>
                  new Promise<void>((resolve, reject) =>
                    client.createCertificate(nextRequest(), md, (err) => (err ? reject(err) : resolve())),
                  ),
              ),
            );
            return IN_FLIGHT;
          },
        ],
      ];
      for (const [path, op] of paths) rows.push(localRow(caKey, csrKind, path, op));
      const remote = await ChildClient.start(port, csrKind === 'RSA 2048' ? 'rsa-2048' : 'ecdsa-p256');
      cleanups.unshift(() => remote.close());
      rows.push({
        caKey,
        csrKind,
        path: 'gRPC, client in child',
        round: (ms) => remote.round(ms),
        rates: [],
      });
    }
  }

  // Rounds visit every row in turn, openssl speed included, so that load from elsewhere on the
  // machine spreads over ours and the baseline alike.
  const opensslRates: Record<CaKeyType, number[]> = { 'rsa-2048': [], 'ecdsa-p256': [] };
  for (const row of rows) await row.round(200); // warm up
  for (let r = 0; r < ROUNDS; r++) {
    const o = opensslSignRates();
    opensslRates['rsa-2048'].push(o['rsa-2048']);
    opensslRates['ecdsa-p256'].push(o['ecdsa-p256']);
    for (const row of rows) row.rates.push(await row.round(ROUND_MS));
  }
  for (const cleanup of cleanups) await cleanup();

  const baseline: Record<CaKeyType, Stats> = {
    'rsa-2048': stats(opensslRates['rsa-2048']),
    'ecdsa-p256': stats(opensslRates['ecdsa-p256']),
  };
  for (const [key, b] of Object.entries(baseline)) {
    console.log(
      `openssl speed -seconds 3 (1 thread), ${key} sign/s: median ${b.median.toFixed(0)}, min ${b.min.toFixed(0)}, max ${b.max.toFixed(0)}`,
    );
  }
  console.log('');
  console.log(
    'certificates per wall-clock second (median [min..max]) and per CPU-second of this process (median);',
  );
  console.log(
    "the ratio compares per-CPU-second rates, since openssl speed divides by its user CPU time (the in-process gRPC rows carry the client's CPU too)",
  );
  console.log('');
  console.log(
    'CA key      CSR key      path                      wall/s [min..max]        CPU-s   CPU-s/openssl',
  );
  for (const row of rows) {
    const wall = stats(row.rates.map((r) => r.wall));
    const cpu = stats(row.rates.map((r) => r.cpu));
    const range = `${fmt(wall.median)} [${wall.min.toFixed(0)}..${wall.max.toFixed(0)}]`;
    console.log(
      `${row.caKey.padEnd(11)} ${row.csrKind.padEnd(12)} ${row.path.padEnd(24)} ${range.padEnd(24)} ${fmt(cpu.median)}   ${(cpu.median / baseline[row.caKey].median).toFixed(2)}`,
    );
  }
}

const clientAt = process.argv.indexOf('--client');
const entry =
  clientAt >= 0
    ? clientMain(Number(process.argv[clientAt + 1]), process.argv[clientAt + 2] as CaKeyType)
    : main();
entry.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
