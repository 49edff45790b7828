import assert from 'node:assert/strict';
import net from 'node:net';
import { StandinError } from '../../../../src/mesh/standins/errors.js';
import { startStandin, type RunningStandin } from '../../../../src/mesh/standins/serve.js';
import { tcpEchoConfig } from '../../../../src/mesh/standins/tcp-echo.js';
import { tcpExchange } from '../../../support/standin-client.js';

const IMAGE = 'docker.io/istio/tcp-echo-server:1.1';

describe('mesh/standins tcp-echo', () => {
  let running: RunningStandin | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('reads ports and prefix as the binary does, defaulting to the image CMD', () => {
    assert.deepEqual(tcpEchoConfig(['9000,9001,9002', 'hello']), {
      ports: [9000, 9001, 9002],
      prefix: 'hello',
    });
    assert.deepEqual(tcpEchoConfig([]), { ports: [9000], prefix: 'hello' });
    assert.deepEqual(tcpEchoConfig(['/bin/tcp-echo', '9001', 'hi']), { ports: [9001], prefix: 'hi' });
  });

  for (const args of [['9000'], ['90x0', 'hello'], ['70000', 'hello']]) {
    it(`rejects args ${JSON.stringify(args)} with STANDIN_BAD_ARGS`, () => {
      assert.throws(
        () => tcpEchoConfig(args),
        (e: unknown) => e instanceof StandinError && e.code === 'STANDIN_BAD_ARGS',
      );
    });
  }

  it('answers each line with "<prefix> <line>" on every port of its first arg', async () => {
    running = await startStandin({
      image: IMAGE,
      args: ['0,0', 'hello'],
      env: {},
      ports: [9000],
      listenHost: '127.0.0.1',
    });
    assert.equal(running.ports.length, 2);
    for (const port of running.ports) {
      assert.equal(await tcpExchange(port, 'one\ntwo\n'), 'hello one\nhello two\n');
    }
  });

  it('gives a trailing partial line no answer and closes when the client ends', async () => {
    running = await startStandin({
      image: IMAGE,
      args: ['0', 'p'],
      env: {},
      ports: [],
      listenHost: '127.0.0.1',
    });
    assert.equal(await tcpExchange(running.ports[0]!, 'whole\npart'), 'p whole\n');
  });

  it('resets open connections on close and reports each finished connection', async () => {
    const seen: number[] = [];
    running = await startStandin(
      { image: IMAGE, args: ['0', 'p'], env: {}, ports: [], listenHost: '127.0.0.1' },
      { connection: (c) => seen.push(c.bytesIn) },
    );
    const socket = net.connect(running.ports[0]!, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()).write('x\n'));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await running.close();
    running = undefined;
    await closed;
    assert.deepEqual(seen, [2]);
  });

  it('names the port it cannot bind', async () => {
    running = await startStandin({
      image: IMAGE,
      args: ['0', 'p'],
      env: {},
      ports: [],
      listenHost: '127.0.0.1',
    });
    const taken = running.ports[0]!;
    await assert.rejects(
      startStandin({ image: IMAGE, args: [`0,${taken}`, 'p'], env: {}, ports: [], listenHost: '127.0.0.1' }),
      (e: unknown) =>
        e instanceof StandinError && e.code === 'STANDIN_PORT_IN_USE' && e.message.includes(String(taken)),
    );
  });
});
