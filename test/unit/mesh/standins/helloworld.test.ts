import assert from 'node:assert/strict';
import { startStandin, type RunningStandin } from '../../../../src/mesh/standins/serve.js';
import { request } from '../../../support/standin-client.js';

describe('mesh/standins helloworld', () => {
  let running: RunningStandin | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  const start = async (image: string, env: Record<string, string>): Promise<number> => {
    running = await startStandin({
      image,
      args: [],
      env,
      ports: [5000],
      listenHost: '127.0.0.1',
      portOverride: 0,
    });
    return running.ports[0]!;
  };

  it('answers /hello with the version from the image name and the pod name', async () => {
    const port = await start('docker.io/istio/examples-helloworld-v2', { HOSTNAME: 'helloworld-v2-abc' });
    const a = await request(port, '/hello');
    assert.equal(a.status, 200);
    assert.equal(a.body, 'Hello version: v2, instance: helloworld-v2-abc\n');
  });

  it('takes SERVICE_VERSION from the env over the image name', async () => {
    const port = await start('docker.io/istio/examples-helloworld-v1', {
      HOSTNAME: 'h',
      SERVICE_VERSION: 'v9',
    });
    assert.equal((await request(port, '/hello')).body, 'Hello version: v9, instance: h\n');
  });

  it('answers /health and 404s elsewhere', async () => {
    const port = await start('docker.io/istio/examples-helloworld-v1', { HOSTNAME: 'h' });
    assert.equal((await request(port, '/health')).body, 'Helloworld is healthy');
    assert.equal((await request(port, '/nope')).status, 404);
  });
});
