import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMeshState } from '../../../src/cli/targets/mesh-state.js';
import { startIstiod, type RunningIstiod } from '../../../src/istiod/server.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../src/istiod/xds/index.js';
import { silentLogger } from '../../../src/shared/logging.js';
import { CliRunner, type CliResult } from '../../support/cli.js';
import { DeltaXdsClient } from '../../support/xds-client.js';
import { testIstiodConfig } from '../../support/istiod.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SYNCZ = readFileSync(new URL('../../fixtures/config-dump/syncz.json', import.meta.url), 'utf8');
const RUN_TIMEOUT_MS = 15_000;

/** Serves `body` on GET /debug/syncz; anything else is 404. */
async function startIstiodStub(body: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/debug/syncz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));
}

describe('ambit proxy-status (CLI against istiod on loopback)', function () {
  this.timeout(RUN_TIMEOUT_MS * 3);
  const cli = new CliRunner();
  const servers: http.Server[] = [];
  const dirs: string[] = [];
  let stubPort: number;

  before(async () => {
    const stub = await startIstiodStub(SYNCZ);
    servers.push(stub.server);
    stubPort = stub.port;
  });

  afterEach(() => {
    cli.killAll();
  });

  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function tempDir(prefix: string): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  }

  function ambit(...args: string[]): Promise<CliResult> {
    return cli.run(args, { timeoutMs: RUN_TIMEOUT_MS });
  }

  it('prints one row per agent, sorted, with the state of each type', async () => {
    const run = await ambit('proxy-status', '--istiod', `127.0.0.1:${stubPort}`);
    assert.equal(run.code, 0, run.stderr);
    const istiod = `127.0.0.1:${stubPort}`;
    assert.deepEqual(rows(run.stdout), [
      [
        'NAME',
        'CLUSTER',
        'NODE',
        'ISTIOD',
        'VERSION',
        'SUBSCRIBED TYPES',
        'CONNECTED SINCE',
        'ADDRESS',
        'AUTHORIZATION',
      ],
      [
        'ztunnel-a.istio-system',
        'Kubernetes',
        'node-a',
        istiod,
        '-',
        '2 (ADDRESS,AUTHORIZATION)',
        '2026-01-01T00:00:00.000Z',
        'SYNCED',
        'SYNCED',
      ],
      [
        'ztunnel-b.istio-system',
        'Kubernetes',
        'node-b',
        istiod,
        '-',
        '2 (ADDRESS,AUTHORIZATION)',
        '2026-01-01T00:00:05.000Z',
        'STALE',
        'NOT SENT',
      ],
    ]);
  });

  it('-o json prints /debug/syncz as served', async () => {
    const run = await ambit('ps', '--istiod', `127.0.0.1:${stubPort}`, '-o', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), JSON.parse(SYNCZ));
  });

  it('--state-dir asks every istiod of the mesh; one that is down is reported and exits 1, the rest is printed', async () => {
    const down = await closedPort();
    const dir = await tempDir('ambit-ps-state-');
    writeMeshState(dir, {
      nodes: [
        { name: 'node-a', adminAddress: '127.0.0.1:15000', istiodMonitoring: `127.0.0.1:${stubPort}` },
        { name: 'node-b', adminAddress: '127.0.0.1:15000', istiodMonitoring: `127.0.0.1:${down}` },
      ],
    });
    const run = await ambit('ps', '--state-dir', dir);
    assert.equal(run.code, 1);
    assert.equal(rows(run.stdout).length, 3);
    assert.equal(
      run.stderr,
      `ambit: no istiod answers on 127.0.0.1:${down}: connection refused; is \`ambit istiod\` running with --monitoring-addr 127.0.0.1:${down}?\n`,
    );
  });

  it('an unreachable istiod: exit 1 and nothing on stdout', async () => {
    const down = await closedPort();
    const run = await ambit('ps', '--istiod', `127.0.0.1:${down}`);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      new RegExp(`^ambit: no istiod answers on 127\\.0\\.0\\.1:${down}: connection refused`),
    );
  });

  it('an explicit --state-dir without a state file: exit 1 with how to get one', async () => {
    const dir = await tempDir('ambit-ps-empty-');
    const run = await ambit('ps', '--state-dir', dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no mesh state at .*nodes\.json/);
  });

  const usage = [
    { name: 'a bad --istiod', args: ['ps', '--istiod', 'x'], stderr: /--istiod "x": not HOST:PORT/ },
    { name: 'yaml output (not offered)', args: ['ps', '-o', 'yaml'], stderr: /argument 'yaml' is invalid/ },
  ];
  for (const c of usage) {
    it(`${c.name}: exit 2`, async () => {
      const run = await ambit(...c.args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, c.stderr);
    });
  }

  it('--help exits 0 and names the flags', async () => {
    const run = await ambit('proxy-status', '--help');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--istiod <host:port>/);
    assert.match(run.stdout, /--state-dir <dir>/);
  });

  describe('against a running istiod', () => {
    let work: string;
    let istiod: RunningIstiod | undefined;
    const clients: DeltaXdsClient[] = [];

    before(async () => {
      work = await tempDir('ambit-ps-istiod-');
      await cp(join(ROOT, 'examples/mesh'), join(work, 'config'), { recursive: true });
      istiod = await startIstiod(
        testIstiodConfig({
          configDir: join(work, 'config'),
          caDir: join(work, 'ca'),
        }),
        silentLogger,
      );
    });

    after(async () => {
      for (const c of clients) c.close();
      await istiod?.stop();
    });

    it('an agent that acked addresses and left authorization unacked is SYNCED and STALE', async () => {
      assert.ok(istiod);
      const client = new DeltaXdsClient(`127.0.0.1:${istiod.ports.grpc}`, {
        podName: 'ztunnel-cli',
        nodeName: 'node-cli',
        metadata: { CLUSTER_ID: 'cluster-cli' },
      });
      clients.push(client);
      client.subscribe(ADDRESS_TYPE_URL);
      client.ack(await client.next());
      client.subscribe(AUTHORIZATION_TYPE_URL);
      await client.next();
      // The ACK travels asynchronously: poll istiod until it has seen it (bounded).
      let table: string[][] = [];
      for (let i = 0; i < 20; i++) {
        const run = await ambit('ps', '--istiod', `127.0.0.1:${istiod.ports.monitoring}`);
        assert.equal(run.code, 0, run.stderr);
        table = rows(run.stdout);
        if (table[1]?.at(-2) === 'SYNCED') break;
      }
      assert.equal(table.length, 2);
      const [header = [], row = []] = table;
      const cell = (name: string): string | undefined => row[header.indexOf(name)];
      assert.equal(cell('NAME'), 'ztunnel-cli.istio-system');
      assert.equal(cell('NODE'), 'node-cli');
      assert.equal(cell('CLUSTER'), 'cluster-cli');
      assert.equal(cell('SUBSCRIBED TYPES'), '2 (ADDRESS,AUTHORIZATION)');
      assert.equal(cell('ADDRESS'), 'SYNCED');
      assert.equal(cell('AUTHORIZATION'), 'STALE');
    });
  });
});
