/**
 * The negative mTLS/HBONE matrix against a real HboneServer: clients that
 * must be refused, floods that must be bounded. After each case the server
 * still serves a good client, and its connection count is back to zero.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import http2 from 'node:http2';
import tls from 'node:tls';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { Registry } from 'prom-client';
import forge from 'node-forge';
import { HboneError, HbonePool, HboneServer, type TlsMaterial } from '../../../../src/ztunnel/hbone/index.js';
import { GuardMetrics } from '../../../../src/ztunnel/telemetry/index.js';
import { echoConnection, loopbackSource, spliceToLoopback } from '../../../support/hbone-loopback.js';
import { createTestPki, type TestCredential } from '../../../support/ca.js';
import { waitFor } from '../../../support/wait.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';
const material = (c: TestCredential): TlsMaterial => ({ keyPem: c.keyPem, certChainPem: c.chainPem, rootPem: c.rootPem });
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('ztunnel/hbone: the negative mTLS/HBONE matrix', function () {
  this.timeout(30_000);
  // An RSA root, so that node-forge can sign the expired certificate below.
  const pki = createTestPki({ keyType: 'rsa-2048' });
  const frontend = material(pki.issueWorkload(FRONTEND));
  const backend = material(pki.issueWorkload(BACKEND));
  let app: net.Server;
  let server: HboneServer;
  let port: number;
  let registry: Registry;

  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name) as { values: { labels: Record<string, string>; value: number }[] } | undefined;
    return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, w]) => v.labels[k] === w)).reduce((n, v) => n + v.value, 0);
  };

  /** A good client still gets a tunnel. */
  async function stillServes(): Promise<void> {
    const pool = new HbonePool({ connectTimeoutMs: 5000 });
    try {
      const stream = await pool.connect({
        source: loopbackSource(FRONTEND, frontend),
        destination: { ip: '127.0.0.1', port },
        expectedIdentities: [BACKEND],
        target: { ip: '127.0.0.1', port: (app.address() as AddressInfo).port },
      });
      stream.end('ok');
      const [reply] = (await once(stream, 'data')) as [Buffer];
      assert.equal(reply.toString(), 'ok');
      stream.destroy();
    } finally {
      pool.close();
    }
  }

  beforeEach(async () => {
    registry = new Registry();
    app = net.createServer(echoConnection);
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    server = new HboneServer({
      material: backend,
      trustDomain: 'cluster.local',
      guards: new GuardMetrics(registry),
      limits: { handshakeTimeoutMs: 300, maxConnections: 50, maxStreamsPerConnection: 20 },
      handle: async () => spliceToLoopback((app.address() as AddressInfo).port),
    });
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });

  afterEach(async () => {
    await server.close();
    await new Promise<void>((r) => app.close(() => r()));
  });

  /** Resolves with how a raw TLS client fared: 'refused' unless the server let it talk HTTP/2. */
  async function tlsClient(options: tls.ConnectionOptions): Promise<string> {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ...options, checkServerIdentity: () => undefined } as http2.SecureClientSessionOptions);
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${(app.address() as AddressInfo).port}` });
      stream.on('error', () => undefined);
      const status = await new Promise<string>((resolve) => {
        stream.once('response', (h) => resolve(String(h[':status'])));
        stream.once('close', () => resolve('refused'));
      });
      return status;
    } finally {
      session.destroy();
    }
  }

  const stranger = createTestPki();
  /** A certificate of the mesh root with the given URI SANs and validity (hours from now). */
  const forgedWorkload = (uris: readonly string[], fromHours = -1, toHours = 1): TlsMaterial => {
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = '0a1b2c';
    cert.validity.notBefore = new Date(Date.now() + fromHours * 3600_000);
    cert.validity.notAfter = new Date(Date.now() + toHours * 3600_000);
    const root = forge.pki.certificateFromPem(pki.root.certPem);
    cert.setIssuer(root.subject.attributes);
    cert.setExtensions([{ name: 'subjectAltName', altNames: uris.map((value) => ({ type: 6, value })) }]);
    cert.sign(forge.pki.privateKeyFromPem(pki.root.keyPem), forge.md.sha256.create());
    return { keyPem: forge.pki.privateKeyToPem(keys.privateKey), certChainPem: forge.pki.certificateToPem(cert), rootPem: pki.rootPem };
  };
  /** A workload certificate of the mesh root whose validity ended an hour ago. */
  const expiredWorkload = (uri: string): TlsMaterial => forgedWorkload([uri], -2, -1);
  const cases: { name: string; options: () => tls.ConnectionOptions; want: string }[] = [
    { name: 'no client certificate', options: () => ({ ca: pki.rootPem }), want: 'refused' },
    { name: 'a certificate from another CA', options: () => ({ ...pemOptions(material(stranger.issueWorkload(FRONTEND))), ca: pki.rootPem }), want: 'refused' },
    { name: 'an expired certificate', options: () => pemOptions(expiredWorkload(FRONTEND)), want: 'refused' },
    { name: 'a certificate with two SPIFFE identities', options: () => pemOptions(forgedWorkload([FRONTEND, 'spiffe://cluster.local/ns/demo/sa/admin'])), want: '401' },
    { name: 'a certificate of another trust domain', options: () => pemOptions(material(pki.issueWorkload('spiffe://evil.example/ns/demo/sa/frontend'))), want: '401' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.want}, and the server keeps serving`, async () => {
      let options: tls.ConnectionOptions;
      try {
        options = c.options();
      } catch (err) {
        // A PKI that cannot issue this case is not a pass: the case must run.
        throw new Error(`could not build the client credential for "${c.name}"`, { cause: err });
      }
      assert.equal(await tlsClient(options), c.want);
      await stillServes();
      await waitFor(() => server.activeConnections === 0, 'the refused connections to be gone');
    });
  }

  const serverCases: { name: string; serverMaterial: () => TlsMaterial; want: RegExp }[] = [
    { name: 'a server presenting another identity', serverMaterial: () => material(pki.issueWorkload(FRONTEND)), want: /presented spiffe:\/\/cluster\.local\/ns\/demo\/sa\/frontend; expected spiffe:\/\/cluster\.local\/ns\/demo\/sa\/backend/ },
    { name: 'a server presenting two SPIFFE identities (the expected one among them)', serverMaterial: () => forgedWorkload([BACKEND, FRONTEND]), want: /2 SPIFFE URI SANs .*exactly one is required/ },
  ];
  for (const c of serverCases) {
    it(`client: ${c.name} is refused with an identity error`, async () => {
      const impostor = new HboneServer({ material: c.serverMaterial(), trustDomain: 'cluster.local', handle: async () => ({ kind: 'reject', status: 503, reason: 'never reached' }) });
      const impostorPort = (await impostor.listen({ host: '127.0.0.1', port: 0 })).port;
      const pool = new HbonePool({ connectTimeoutMs: 5000 });
      try {
        await assert.rejects(
          pool.connect({
            source: loopbackSource(FRONTEND, frontend),
            destination: { ip: '127.0.0.1', port: impostorPort },
            expectedIdentities: [BACKEND],
            target: { ip: '127.0.0.1', port: 9 },
          }),
          (e: unknown) => e instanceof HboneError && e.code === 'HBONE_IDENTITY_ERROR' && c.want.test(e.message),
        );
        assert.deepEqual(pool.stats(), [], 'nothing of the refused connection stays pooled');
      } finally {
        pool.close();
        await impostor.close();
      }
    });
  }

  it('bad :authority values are answered 400 on a session that stays up', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ...pemOptions(frontend), checkServerIdentity: () => undefined });
    session.on('error', () => undefined);
    try {
      for (const authority of ['backend.demo:80', '127.0.0.1', '127.0.0.1:0', '[zz::1]:80', 'x'.repeat(2000)]) {
        const stream = session.request({ ':method': 'CONNECT', ':authority': authority });
        stream.on('error', () => undefined);
        const [h] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        assert.equal(h[':status'], 400, authority.slice(0, 40));
      }
    } finally {
      session.destroy();
    }
    await stillServes();
  });

  it('an oversized header block is refused and the server keeps serving', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ...pemOptions(frontend), checkServerIdentity: () => undefined, maxSendHeaderBlockLength: 1 << 20 } as http2.SecureClientSessionOptions);
    session.on('error', () => undefined);
    try {
      await once(session, 'remoteSettings');
      const stream = session.request({ ':method': 'CONNECT', ':authority': '127.0.0.1:1', 'x-big': 'a'.repeat(100 * 1024) });
      stream.on('error', () => undefined);
      const outcome = await new Promise<string>((resolve) => {
        stream.once('response', (h) => resolve(String(h[':status'])));
        stream.once('close', () => resolve('reset'));
      });
      assert.equal(outcome, 'reset');
    } finally {
      session.destroy();
    }
    await stillServes();
  });

  it('rapid reset: 2,000 streams opened and reset at once do not take the server down', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ...pemOptions(frontend), checkServerIdentity: () => undefined });
    session.on('error', () => undefined);
    await once(session, 'remoteSettings');
    for (let i = 0; i < 2000 && !session.destroyed; i++) {
      const s = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${(app.address() as AddressInfo).port}` });
      s.on('error', () => undefined);
      s.close(http2.constants.NGHTTP2_CANCEL);
    }
    session.destroy();
    await stillServes();
    await waitFor(() => server.activeConnections === 0, 'the flooding connection to be gone');
  });

  it('idle-connection flood: connections that never handshake are dropped at the handshake timeout, over the cap at once; fds come back', async () => {
    const fdsBefore = openFds();
    const rssBefore = process.memoryUsage().rss;
    const idle = await Promise.all(
      Array.from({ length: 80 }, async () => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => undefined);
        await once(s, 'connect');
        return s;
      }),
    );
    // 50 held (the cap), the rest reset at once; the held ones go at the 300 ms handshake timeout.
    await waitFor(() => idle.every((s) => s.destroyed || s.readableEnded), 'every idle connection to be dropped', 10_000);
    for (const s of idle) s.destroy();
    assert.ok((await metric('ambit_proxy_limit_hits_total', { limit: 'hbone_connections' })) >= 30);
    assert.ok((await metric('ambit_proxy_limit_hits_total', { limit: 'tls_handshake_timeout' })) >= 1);
    await waitFor(() => server.activeConnections === 0, 'the server to hold no connection');
    await stillServes();
    await waitFor(() => openFds() <= fdsBefore + 5, `open fds back near ${fdsBefore}`);
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'RSS grew by less than 64 MiB');
  });
});

function pemOptions(m: TlsMaterial): tls.ConnectionOptions {
  return { key: m.keyPem, cert: m.certChainPem, ca: m.rootPem };
}
