import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  ADDRESS_TYPE_URL,
  XdsServer,
  listenXds,
  type XdsListeners,
} from '../../../../src/istiod/xds/index.js';
import { MeshXdsAuthenticator } from '../../../../src/istiod/xds/index.js';
import { NodeTokenAuthenticator } from '../../../../src/istiod/ca/index.js';
import { createTestPki } from '../../../support/ca.js';
import { InMemoryResourceSource } from '../../../support/resource-source.js';
import { DeltaXdsClient } from '../../../support/xds-client.js';
import { xdsCredentials } from './credentials.js';

const TOKEN = 'node-a-token-0123456789';
const authenticator = (): MeshXdsAuthenticator =>
  new MeshXdsAuthenticator({
    nodeTokens: new NodeTokenAuthenticator([{ token: TOKEN, node: 'node-a' }]),
    trustDomain: 'cluster.local',
  });

describe('xds server: listeners', () => {
  let xds: XdsServer | undefined;
  let listeners: XdsListeners | undefined;
  const clients: DeltaXdsClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await xds?.close(500);
    await listeners?.close(500);
    xds = undefined;
    listeners = undefined;
  });

  it('serves delta ADS on both the plaintext and the TLS port, and TLS clients verify the server against the root', async () => {
    const pki = createTestPki();
    const serving = pki.issueServing(['localhost', '127.0.0.1']);
    const source = new InMemoryResourceSource();
    source.set(ADDRESS_TYPE_URL, 'Kubernetes//Pod/default/a', 'workload-a');
    xds = new XdsServer({ source, registry: new Registry(), debounceMs: 0, authenticator: authenticator() });
    listeners = await listenXds(xds, {
      plaintextAddress: '127.0.0.1:0',
      tlsAddress: '127.0.0.1:0',
      tls: { certChainPem: serving.chainPem, keyPem: serving.keyPem },
    });
    assert.ok((listeners.plaintextPort ?? 0) > 0);
    assert.ok((listeners.tlsPort ?? 0) > 0);
    assert.notEqual(listeners.plaintextServer, listeners.tlsServer);

    const plain = new DeltaXdsClient(`127.0.0.1:${listeners.plaintextPort}`);
    clients.push(plain);
    plain.subscribe(ADDRESS_TYPE_URL);
    assert.equal((await plain.next()).resources.length, 1);

    const secure = new DeltaXdsClient(`localhost:${listeners.tlsPort}`, {
      nodeName: 'node-a',
      credentials: xdsCredentials({ rootPem: pki.rootPem, token: TOKEN }),
    });
    clients.push(secure);
    secure.subscribe(ADDRESS_TYPE_URL);
    assert.equal((await secure.next()).resources.length, 1);

    const untrusted = new DeltaXdsClient(`localhost:${listeners.tlsPort}`, {
      nodeName: 'node-a',
      credentials: xdsCredentials({ rootPem: createTestPki().rootPem, token: TOKEN }),
    });
    clients.push(untrusted);
    untrusted.subscribe(ADDRESS_TYPE_URL);
    assert.equal((await untrusted.waitEnd(5000)).code, grpc.status.UNAVAILABLE);
  });

  it('adds xDS to a TLS server the caller brings, and close() shuts that server down too', async () => {
    const pki = createTestPki();
    const serving = pki.issueServing(['localhost']);
    xds = new XdsServer({ source: new InMemoryResourceSource(), registry: new Registry(), authenticator: authenticator() });
    const own = new grpc.Server();
    listeners = await listenXds(xds, {
      tlsAddress: '127.0.0.1:0',
      tls: { certChainPem: serving.chainPem, keyPem: serving.keyPem },
      tlsServer: own,
    });
    assert.equal(listeners.tlsServer, own);
    assert.equal(listeners.plaintextPort, undefined);
    const c = new DeltaXdsClient(`localhost:${listeners.tlsPort}`, {
      nodeName: 'node-a',
      credentials: xdsCredentials({ rootPem: pki.rootPem, token: TOKEN }),
    });
    clients.push(c);
    c.subscribe(ADDRESS_TYPE_URL);
    assert.equal((await c.next()).resources.length, 0);
    c.close();
    await xds.close(500);
    await listeners.close(500);
    const port = listeners.tlsPort ?? 0;
    const net = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        reject(new Error('the TLS listener still accepts connections after close()'));
      });
      probe.once('error', () => resolve());
    });
  });

  it('listen() binds through the server, and close() shuts those listeners down', async () => {
    xds = new XdsServer({ source: new InMemoryResourceSource(), registry: new Registry() });
    const bound = await xds.listen({ plaintextAddress: '127.0.0.1:0' });
    const c = new DeltaXdsClient(`127.0.0.1:${bound.plaintextPort}`);
    clients.push(c);
    c.subscribe(ADDRESS_TYPE_URL);
    await c.next();
    await xds.close(500);
    const net = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const probe = net.connect(bound.plaintextPort ?? 0, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        reject(new Error('the listener still accepts connections after close()'));
      });
      probe.once('error', () => resolve());
    });
  });

  it('refuses a TLS address without certificate material', async () => {
    xds = new XdsServer({ source: new InMemoryResourceSource(), registry: new Registry(), authenticator: authenticator() });
    await assert.rejects(listenXds(xds, { tlsAddress: '127.0.0.1:0' }), { code: 'XDS_INVALID_OPTION' });
  });

  it('refuses a TLS address on a server that cannot authenticate its streams', async () => {
    const serving = createTestPki().issueServing(['localhost']);
    xds = new XdsServer({ source: new InMemoryResourceSource(), registry: new Registry() });
    await assert.rejects(
      listenXds(xds, { tlsAddress: '127.0.0.1:0', tls: { certChainPem: serving.chainPem, keyPem: serving.keyPem } }),
      (err: { code?: string; message?: string }) => err.code === 'XDS_INVALID_OPTION' && /authenticator/.test(err.message ?? ''),
    );
  });

  it('reports an address already in use', async () => {
    xds = new XdsServer({ source: new InMemoryResourceSource(), registry: new Registry() });
    listeners = await listenXds(xds, { plaintextAddress: '127.0.0.1:0' });
    const second = new XdsServer({ source: new InMemoryResourceSource(), registry: new Registry() });
    try {
      await assert.rejects(listenXds(second, { plaintextAddress: `127.0.0.1:${listeners.plaintextPort}` }), {
        code: 'XDS_LISTEN_FAILED',
      });
    } finally {
      await second.close(100);
    }
  });
});
