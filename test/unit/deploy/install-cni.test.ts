import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './render.js';

const SCRIPT = join(REPO_ROOT, 'deploy/cni/install-cni.mjs');
const RUN_TIMEOUT_MS = 20_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

const KINDNET = {
  cniVersion: '0.3.1',
  name: 'kindnet',
  plugins: [{ type: 'ptp', ipMasq: false }, { type: 'portmap', capabilities: { portMappings: true } }],
};

describe('deploy/cni/install-cni.mjs', function () {
  this.timeout(60_000);
  let root = '';
  let env: Record<string, string> = {};

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ambit-install-cni-'));
    // A stand-in for the image's app tree: bin/ambit prints what it was run with.
    for (const d of ['src/bin', 'src/dist', 'src/node_modules/x', 'net', 'bin', 'install']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'src/bin/ambit'), "process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), command: process.env.CNI_COMMAND, stdin: require('node:fs').readFileSync(0, 'utf8') }));\n");
    writeFileSync(join(root, 'src/package.json'), '{"name":"ambit","type":"commonjs"}\n');
    writeFileSync(join(root, 'src/node_modules/x/index.js'), '');
    env = {
      CNI_BIN_DIR: join(root, 'bin'),
      CNI_NET_DIR: join(root, 'net'),
      AMBIT_SOURCE_DIR: join(root, 'src'),
      AMBIT_INSTALL_DIR: join(root, 'install'),
      AMBIT_HOST_INSTALL_PATH: join(root, 'install'),
      CNI_CONF_WAIT_SECONDS: '0',
    };
  });

  afterEach(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
    root = '';
  });

  const conflist = (name = '10-kindnet.conflist'): { plugins: Record<string, unknown>[] } & Record<string, unknown> =>
    JSON.parse(readFileSync(join(root, 'net', name), 'utf8')) as { plugins: Record<string, unknown>[] } & Record<string, unknown>;

  it('appends the ambit-cni entry to the conflist, keeping the primary plugins and their order', async () => {
    writeFileSync(join(root, 'net/10-kindnet.conflist'), JSON.stringify(KINDNET));
    const r = await run(process.execPath, [SCRIPT], { ...env, AMBIT_AGENT_SOCKET: '/run/a/agent.sock', AMBIT_CGROUP_ROOT: '/sys/fs/cgroup' });
    assert.equal(r.code, 0, r.stderr);
    const c = conflist();
    assert.equal(c.name, 'kindnet');
    assert.equal(c.cniVersion, '0.3.1');
    assert.deepEqual(c.plugins, [...KINDNET.plugins, { type: 'ambit-cni', agentSocket: '/run/a/agent.sock', cgroupRoot: '/sys/fs/cgroup' }]);
    assert.equal((JSON.parse(r.stdout) as { conflistChanged: boolean }).conflistChanged, true);
  });

  it('leaves the conflist untouched on a second run, and updates a stale entry in place', async () => {
    const path = join(root, 'net/10-kindnet.conflist');
    writeFileSync(path, JSON.stringify(KINDNET));
    assert.equal((await run(process.execPath, [SCRIPT], env)).code, 0);
    const first = readFileSync(path, 'utf8');
    const mtime = statSync(path).mtimeMs;
    const again = await run(process.execPath, [SCRIPT], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(path, 'utf8'), first);
    assert.equal(statSync(path).mtimeMs, mtime);
    assert.equal((JSON.parse(again.stdout) as { conflistChanged: boolean }).conflistChanged, false);

    const moved = await run(process.execPath, [SCRIPT], { ...env, AMBIT_AGENT_SOCKET: '/run/other.sock' });
    assert.equal(moved.code, 0, moved.stderr);
    const entries = conflist().plugins.filter((p) => p.type === 'ambit-cni');
    assert.deepEqual(entries, [{ type: 'ambit-cni', agentSocket: '/run/other.sock', cgroupRoot: '/sys/fs/cgroup' }]);
    assert.equal(conflist().plugins.length, KINDNET.plugins.length + 1);
  });

  it('chains into the conflist the runtime picks: the first configuration file in lexical order, or CNI_CONF_NAME', async () => {
    writeFileSync(join(root, 'net/20-b.conflist'), JSON.stringify({ ...KINDNET, name: 'b' }));
    writeFileSync(join(root, 'net/10-a.conflist'), JSON.stringify({ ...KINDNET, name: 'a' }));
    assert.equal((await run(process.execPath, [SCRIPT], env)).code, 0);
    assert.equal(conflist('10-a.conflist').plugins.at(-1)?.type, 'ambit-cni');
    assert.equal(conflist('20-b.conflist').plugins.at(-1)?.type, 'portmap');
    assert.equal((await run(process.execPath, [SCRIPT], { ...env, CNI_CONF_NAME: '20-b.conflist' })).code, 0);
    assert.equal(conflist('20-b.conflist').plugins.at(-1)?.type, 'ambit-cni');
  });

  const refusals: { what: string; files: Record<string, string>; extra?: Record<string, string>; message: RegExp }[] = [
    { what: 'no configuration appears in time', files: {}, message: /no \*\.conflist in .* after 0s/ },
    { what: 'the named conflist does not exist', files: { '10-a.conflist': JSON.stringify(KINDNET) }, extra: { CNI_CONF_NAME: '99-x.conflist' }, message: /99-x\.conflist does not exist/ },
    { what: 'the runtime would read a single-plugin .conf first', files: { '05-bridge.conf': '{"type":"bridge"}', '10-a.conflist': JSON.stringify(KINDNET) }, message: /not a \.conflist/ },
    { what: 'the conflist is not JSON', files: { '10-a.conflist': '{' }, message: /not JSON/ },
    { what: 'the conflist has no plugins array', files: { '10-a.conflist': '{"name":"x"}' }, message: /no "plugins" array/ },
    { what: 'a path setting is relative', files: { '10-a.conflist': JSON.stringify(KINDNET) }, extra: { AMBIT_AGENT_SOCKET: 'run/a.sock' }, message: /AMBIT_AGENT_SOCKET "run\/a\.sock" must be an absolute path/ },
  ];
  for (const row of refusals) {
    it(`fails with exit status 1 and says why when ${row.what}`, async () => {
      for (const [name, content] of Object.entries(row.files)) writeFileSync(join(root, 'net', name), content);
      const r = await run(process.execPath, [SCRIPT], { ...env, ...row.extra });
      assert.equal(r.code, 1);
      assert.match(r.stderr, row.message);
      for (const [name, content] of Object.entries(row.files)) assert.equal(readFileSync(join(root, 'net', name), 'utf8'), content, `${name} unchanged`);
    });
  }

  it('installs a runtime tree with its own node, switches `current` to it and removes older releases', async () => {
    writeFileSync(join(root, 'net/10-kindnet.conflist'), JSON.stringify(KINDNET));
    assert.equal((await run(process.execPath, [SCRIPT], env)).code, 0);
    const firstRelease = readlinkSync(join(root, 'install/current'));
    assert.equal((await run(process.execPath, [SCRIPT], env)).code, 0);
    const current = readlinkSync(join(root, 'install/current'));
    assert.notEqual(current, firstRelease);
    assert.deepEqual(readdirSync(join(root, 'install/releases')), [current.replace('releases/', '')]);
    for (const f of ['node', 'bin/ambit', 'dist', 'node_modules/x/index.js', 'package.json']) assert.ok(existsSync(join(root, 'install/current', f)), f);
    assert.equal(statSync(join(root, 'install/current/node')).mode & 0o111, 0o111);
  });

  it('installs an executable ambit-cni wrapper that runs `ambit cni` with the runtime node, passing stdin and the CNI environment', async () => {
    writeFileSync(join(root, 'net/10-kindnet.conflist'), JSON.stringify(KINDNET));
    assert.equal((await run(process.execPath, [SCRIPT], env)).code, 0);
    const wrapper = join(root, 'bin/ambit-cni');
    assert.equal(statSync(wrapper).mode & 0o777, 0o755);
    const r = await run(wrapper, [], { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { argv: ['cni'], command: 'VERSION', stdin: '{"cniVersion":"1.0.0"}' });
  });
});
