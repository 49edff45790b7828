import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import type { PodRecord } from '../../../../src/mesh/state.js';
import { listeningPorts, podNotReady } from '../../../../src/mesh/workloads/readiness.js';

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  assert.ok(pid !== undefined, 'the child did not start');
  await once(child, 'exit');
  return pid;
}

function pod(containers: { name: string; pid: number; ports: number[] }[]): PodRecord {
  return {
    name: 'reviews-h1-bbbbb',
    namespace: 'demo',
    node: 'node-a',
    uid: 'uid',
    ips: ['10.10.0.9'],
    netns: 'ns',
    netnsPath: '/run/netns/ns',
    cgroup: '/sys/fs/cgroup/x',
    app: 'reviews',
    serviceAccount: 'default',
    enrolled: false,
    containers: containers.map((c) => ({
      ...c,
      image: 'img',
      run: 'standin',
      argv: [],
      env: {},
      log: `/tmp/${c.name}.log`,
    })),
  };
}

describe('mesh workloads: readiness', () => {
  const open: Server[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) if (s.listening) await close(s);
  });

  it('sees a port this process listens on, and not once it is closed', async () => {
    const { server, port } = await listen();
    open.push(server);
    assert.ok(listeningPorts(process.pid).has(port), `port ${port} not seen as LISTEN`);
    await close(server);
    assert.ok(!listeningPorts(process.pid).has(port), `port ${port} still seen after close`);
  });

  it('does not count a connected socket as listening', async () => {
    const { server, port } = await listen();
    open.push(server);
    const client = createConnection(port, '127.0.0.1');
    await once(client, 'connect');
    const local = client.localPort!;
    try {
      assert.ok(
        !listeningPorts(process.pid).has(local),
        `the client's port ${local} was taken for a listener`,
      );
    } finally {
      client.destroy();
    }
  });

  it('is ready when every container runs and listens on its ports', async () => {
    const { server, port } = await listen();
    open.push(server);
    assert.deepEqual(podNotReady(pod([{ name: 'app', pid: process.pid, ports: [port] }])), []);
  });

  it('is not ready while a port has no listener, naming container and port', async () => {
    const { server, port } = await listen();
    await close(server);
    const problems = podNotReady(pod([{ name: 'app', pid: process.pid, ports: [port] }]));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, new RegExp(`container app: nothing listens on ${port}`));
  });

  it('is not ready when a container process is dead, naming its log', async () => {
    const pid = await deadPid();
    const problems = podNotReady(pod([{ name: 'app', pid, ports: [] }]));
    assert.deepEqual(problems, ['container app is not running (see /tmp/app.log)']);
  });
});
