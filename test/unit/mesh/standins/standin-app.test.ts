import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from '../../../support/standin-client.js';

const APP = fileURLToPath(new URL('../../../../src/mesh/apps/standin-app.ts', import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly lines: AsyncIterator<string>;
}

function run(arg: string[]): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', APP, ...arg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextJson(lines: AsyncIterator<string>): Promise<Record<string, unknown>> {
  const next = await lines.next();
  assert.ok(!next.done, 'stdout ended');
  return JSON.parse(next.value) as Record<string, unknown>;
}

async function failure(arg: string[]): Promise<{ code: number | null; stderr: string }> {
  const { child } = run(arg);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('mesh/apps standin-app', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('serves, logs one JSON line per request, and exits 0 on SIGTERM', async () => {
    const spec = {
      image: 'docker.io/istio/examples-helloworld-v1',
      args: [],
      env: { HOSTNAME: 'hw-pod' },
      ports: [5000],
      listenHost: '127.0.0.1',
      portOverride: 0,
    };
    const { child, lines } = run([JSON.stringify(spec)]);
    children.push(child);
    const ready = await nextJson(lines);
    assert.equal(ready['msg'], 'listening');
    const port = (ready['ports'] as number[])[0]!;
    assert.equal((await request(port, '/hello')).body, 'Hello version: v1, instance: hw-pod\n');
    const logged = await nextJson(lines);
    assert.equal(logged['msg'], 'request');
    assert.equal(logged['path'], '/hello');
    assert.equal(logged['status'], 200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  it('exits 1 naming the port when it is taken', async () => {
    const first = {
      image: 'istio/tcp-echo-server',
      args: ['0', 'hello'],
      env: {},
      ports: [],
      listenHost: '127.0.0.1',
    };
    const { child, lines } = run([JSON.stringify(first)]);
    children.push(child);
    const port = ((await nextJson(lines))['ports'] as number[])[0]!;
    const second = await failure([JSON.stringify({ ...first, args: [String(port), 'hello'] })]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`STANDIN_PORT_IN_USE: .*port ${port}.*EADDRINUSE`));
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  for (const c of [
    { name: 'no argument', arg: [], want: /want exactly one argument/ },
    { name: 'not JSON', arg: ['{'], want: /STANDIN_BAD_SPEC: stand-in spec: not JSON/ },
    {
      name: 'bad args field',
      arg: ['{"image":"curlimages/curl","args":[1]}'],
      want: /STANDIN_BAD_SPEC: .*args/,
    },
    {
      name: 'unknown image',
      arg: ['{"image":"nginx"}'],
      want: /STANDIN_UNKNOWN_IMAGE: .*nginx.*known images: /,
    },
    { name: 'host-command image', arg: ['{"image":"curlimages/curl"}'], want: /STANDIN_HOST_COMMAND/ },
  ]) {
    it(`exits 1 on ${c.name}`, async () => {
      const f = await failure(c.arg);
      assert.equal(f.code, 1);
      assert.match(f.stderr, c.want);
    });
  }
});
