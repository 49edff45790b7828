import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { CertificateManager, GrpcCaClient, uriSans, type CertificateManagerOptions } from '../../../../src/ztunnel/identity/index.js';
import {
  BACKEND_ID,
  FRONTEND_ID,
  ISTIOD_SERVER_NAME,
  NODE_ONE_TOKEN,
  eventually,
  startIstiodFixture,
  type IstiodFixture,
} from '../xds/istiod-fixture.js';

describe('CertificateManager against the istiod CA', () => {
  let fx: IstiodFixture;
  const managers: CertificateManager[] = [];
  const servers: tls.Server[] = [];

  const newManager = (o: Partial<CertificateManagerOptions> & { token?: string } = {}): CertificateManager => {
    const ca = new GrpcCaClient({
      address: `127.0.0.1:${fx.istiod.ports.secureGrpc}`,
      rootPem: fx.istiod.rootPem,
      serverName: ISTIOD_SERVER_NAME,
      token: o.token ?? NODE_ONE_TOKEN,
    });
    const m = new CertificateManager({ ca, registry: new Registry(), ...o });
    managers.push(m);
    return m;
  };

  before(async () => {
    fx = await startIstiodFixture();
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) m.close();
    for (const s of servers.splice(0)) {
      s.close();
    }
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('gets the identity of a workload on its own node, usable for mTLS verified against the mesh root', async () => {
    const manager = newManager();
    manager.retain(FRONTEND_ID);
    const cert = await manager.fetchCertificate(FRONTEND_ID);
    assert.deepEqual(uriSans(cert.leaf), [FRONTEND_ID]);
    assert.equal(cert.rootPem, fx.istiod.rootPem);
    assert.equal(manager.rootPem, fx.istiod.rootPem);
    assert.ok(cert.notAfter.getTime() - Date.now() > 23 * 3600 * 1000, 'the default 24 h TTL');

    // The material works as both ends of a mutual TLS connection.
    const server = tls.createServer({
      key: cert.keyPem,
      cert: cert.certChainPem,
      ca: cert.rootPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    servers.push(server);
    server.on('secureConnection', (s) => s.end(uriSans(new X509Certificate(s.getPeerCertificate().raw)).join(',')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      key: cert.keyPem,
      cert: cert.certChainPem,
      ca: cert.rootPem,
      checkServerIdentity: (_host, peer) =>
        peer.subjectaltname === `URI:${FRONTEND_ID}` ? undefined : new Error(`peer is ${peer.subjectaltname}`),
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'end');
    socket.destroy();
    assert.equal(Buffer.concat(chunks).toString(), FRONTEND_ID, 'the server saw the client identity');
  });

  it('is refused the identity of a workload on another node, and retries with backoff', async () => {
    const manager = newManager({ initialRetryMs: 50, maxRetryMs: 200 });
    manager.retain(BACKEND_ID);
    await assert.rejects(
      manager.fetchCertificate(BACKEND_ID),
      (e: { code?: string; grpcCode?: number }) => e.code === 'IDENTITY_CA_FAILED' && e.grpcCode === grpc.status.PERMISSION_DENIED,
    );
    await eventually(() => (manager.dump()[0]?.failures ?? 0) >= 3, 5000, 'three failures');
    const dump = manager.dump()[0]!;
    assert.match(dump.state, /^Unavailable: .*PERMISSION_DENIED/);
    assert.equal(manager.findCertificate(BACKEND_ID), undefined);
  });

  it('is refused with a token the CA does not know', async () => {
    const manager = newManager({ token: 'not-a-known-token-000000' });
    await assert.rejects(
      manager.fetchCertificate(FRONTEND_ID),
      (e: { code?: string; grpcCode?: number }) => e.code === 'IDENTITY_CA_FAILED' && e.grpcCode === grpc.status.UNAUTHENTICATED,
    );
  });

  it('refreshes a short-lived certificate before it expires', async () => {
    // Short enough to refresh within the test, long enough that a loaded
    // machine does not see it expire before the refresh lands.
    const manager = newManager({ ttlSeconds: 6 });
    manager.retain(FRONTEND_ID);
    const first = await manager.fetchCertificate(FRONTEND_ID);
    assert.ok(first.notAfter.getTime() - Date.now() <= 6000);
    await eventually(() => {
      const current = manager.findCertificate(FRONTEND_ID);
      return current !== undefined && current.serialHex !== first.serialHex;
    }, 10_000, 'refresh');
    assert.ok(manager.findCertificate(FRONTEND_ID)!.notAfter > first.notAfter);
  });

  it('drops the identity with the last pod that uses it', async () => {
    const manager = newManager();
    manager.retain(FRONTEND_ID);
    manager.retain(FRONTEND_ID);
    await manager.fetchCertificate(FRONTEND_ID);
    manager.release(FRONTEND_ID);
    assert.notEqual(manager.findCertificate(FRONTEND_ID), undefined);
    manager.release(FRONTEND_ID);
    assert.equal(manager.findCertificate(FRONTEND_ID), undefined);
    assert.deepEqual(manager.dump(), []);
  });
});
