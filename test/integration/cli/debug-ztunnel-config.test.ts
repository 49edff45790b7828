import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { writeMeshState } from '../../../src/cli/targets/mesh-state.js';
import { CliRunner, type CliResult } from '../../support/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = new URL('../../fixtures/config-dump/', import.meta.url);
const RUN_TIMEOUT_MS = 15_000;

function fixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** Serves `body` on GET /config_dump; anything else is 404. */
async function startAgent(body: string, status = 200): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/config_dump') {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`no such endpoint: ${req.url ?? ''}\n`);
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

describe('ambit ztunnel-config (CLI against an agent on loopback)', function () {
  this.timeout(RUN_TIMEOUT_MS * 3);
  const cli = new CliRunner();
  const servers: http.Server[] = [];
  let agentPort: number;
  let stateDir: string;

  before(async () => {
    const agent = await startAgent(fixtureText('agent.json'));
    servers.push(agent.server);
    agentPort = agent.port;
    stateDir = mkdtempSync(join(tmpdir(), 'ambit-zc-state-'));
    writeMeshState(stateDir, {
      nodes: [
        { name: 'node-a', adminAddress: `127.0.0.1:${agentPort}`, istiodMonitoring: '127.0.0.1:15014' },
      ],
    });
  });

  afterEach(() => {
    cli.killAll();
  });

  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  function ambit(...args: string[]): Promise<CliResult> {
    return cli.run(args, { timeoutMs: RUN_TIMEOUT_MS });
  }

  const admin = (): string => `127.0.0.1:${agentPort}`;

  it('all --admin prints the five tables with their section lines, as the golden file', async () => {
    const run = await ambit('ztunnel-config', 'all', '--admin', admin());
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    assert.equal(run.stdout, fixtureText('agent-all.txt'));
  });

  const aliases = [
    { names: ['workloads', 'workload', 'w'], header: 'NAMESPACE POD NAME' },
    { names: ['services', 'service', 'svc', 's'], header: 'NAMESPACE SERVICE NAME' },
    { names: ['policies', 'policy', 'pol', 'p'], header: 'NAMESPACE    POLICY NAME' },
    { names: ['certificates', 'certificate', 'certs', 'cert'], header: 'CERTIFICATE NAME' },
    { names: ['connections', 'cons'], header: 'WORKLOAD    DIRECTION' },
  ];
  for (const c of aliases) {
    it(`${c.names.join(', ')}: every name prints the same table (zc alias included)`, async () => {
      const runs = await Promise.all(
        c.names.map((n, i) => ambit(i % 2 === 0 ? 'ztunnel-config' : 'zc', n, '--admin', admin())),
      );
      for (const run of runs) {
        assert.equal(run.code, 0, run.stderr);
        assert.ok(run.stdout.startsWith(c.header), run.stdout);
        assert.equal(run.stdout, runs[0]?.stdout);
      }
    });
  }

  it('--node finds the agent through the mesh state', async () => {
    const run = await ambit('zc', 'policies', '--node', 'node-a', '--state-dir', stateDir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.split('\n')[1], 'istio-system mesh-wide   Allow  Global');
  });

  it('filters reach the table: --workload-namespace and --workload-node', async () => {
    const run = await ambit(
      'zc',
      'w',
      '--admin',
      admin(),
      '--workload-namespace',
      'shop',
      '--workload-node',
      'node-b',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/ +/)[1]),
      ['cart-1', 'web-2'],
    );
  });

  it('-o json prints the served entries of the section', async () => {
    const run = await ambit('zc', 'svc', '--admin', admin(), '-o', 'json', '--service-namespace', 'batch');
    assert.equal(run.code, 0, run.stderr);
    const served = (JSON.parse(fixtureText('agent.json')) as { services: { namespace: string }[] }).services;
    assert.deepEqual(
      JSON.parse(run.stdout),
      served.filter((s) => s.namespace === 'batch'),
    );
  });

  it('all -o yaml prints the whole dump as YAML', async () => {
    const run = await ambit('zc', 'all', '--admin', admin(), '-o', 'yaml');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(parse(run.stdout), JSON.parse(fixtureText('agent.json')));
  });

  it('-f reads a saved dump without any agent', async () => {
    const run = await ambit(
      'zc',
      'all',
      '--no-headers',
      '-f',
      join(ROOT, 'test/fixtures/config-dump/ztunnel.json'),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, fixtureText('ztunnel-all.txt'));
  });

  it('an agent whose dump lacks every section prints only the headers', async () => {
    const empty = await startAgent('{}');
    servers.push(empty.server);
    const run = await ambit('zc', 'connections', '--admin', `127.0.0.1:${empty.port}`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'WORKLOAD DIRECTION LOCAL REMOTE REMOTE TARGET PROTOCOL\n');
  });

  it('a closed admin port: exit 1 and "no agent answers on <addr>: connection refused"', async () => {
    const port = await closedPort();
    const run = await ambit('zc', 'workloads', '--admin', `127.0.0.1:${port}`);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `ambit: no agent answers on 127.0.0.1:${port}: connection refused; is \`ambit ztunnel\` running with its admin listener on 127.0.0.1:${port}?\n`,
    );
  });

  it('a node whose agent is down: the message names the node', async () => {
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'ambit-zc-down-'));
    try {
      writeMeshState(dir, {
        nodes: [{ name: 'node-x', adminAddress: `127.0.0.1:${port}`, istiodMonitoring: '127.0.0.1:1' }],
      });
      const run = await ambit('zc', 'workloads', '--node', 'node-x', '--state-dir', dir);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `ambit: no agent answers on 127.0.0.1:${port}: connection refused; is \`ambit ztunnel\` running on node node-x?\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an agent answering with an error status: exit 1 naming the status', async () => {
    const broken = await startAgent('boom\n', 500);
    servers.push(broken.server);
    const run = await ambit('zc', 'policies', '--admin', `127.0.0.1:${broken.port}`);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /agent on 127\.0\.0\.1:\d+ answered GET \/config_dump with HTTP 500: boom/);
  });

  it('an unknown node: exit 1 listing the known nodes', async () => {
    const run = await ambit('zc', 'workloads', '--node', 'node-z', '--state-dir', stateDir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no node "node-z" in .*nodes\.json; known nodes: node-a/);
  });

  const usage = [
    {
      name: 'a bad --admin',
      args: ['zc', 'w', '--admin', 'nowhere'],
      stderr: /--admin "nowhere": not HOST:PORT/,
    },
    {
      name: '--admin with --node',
      args: ['zc', 'w', '--admin', '127.0.0.1:1', '--node', 'a'],
      stderr: /cannot be used with option '--node/,
    },
    { name: 'an unknown output format', args: ['zc', 'w', '-o', 'xml'], stderr: /argument 'xml' is invalid/ },
    {
      name: 'an unknown direction',
      args: ['zc', 'cons', '--direction', 'sideways'],
      stderr: /argument 'sideways' is invalid/,
    },
    { name: 'an unknown section', args: ['zc', 'clusters'], stderr: /unknown command 'clusters'/ },
    { name: 'a bad timeout', args: ['zc', 'w', '--timeout', 'soon'], stderr: /--timeout "soon"/ },
  ];
  for (const c of usage) {
    it(`${c.name}: exit 2 with the reason`, async () => {
      const run = await ambit(...c.args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, c.stderr);
    });
  }

  it('--help describes the subcommands and exits 0', async () => {
    const top = await ambit('ztunnel-config', '--help');
    assert.equal(top.code, 0);
    for (const name of ['workloads', 'services', 'policies', 'certificates', 'connections', 'all'])
      assert.match(top.stdout, new RegExp(name));
    const sub = await ambit('zc', 'connections', '--help');
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /--direction <direction>/);
    assert.match(sub.stdout, /--admin <host:port>/);
  });
});
