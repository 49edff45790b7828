import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { createTestPki } from '../../../support/ca.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/demo/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/demo/sa/server';

describe('test PKI credentials in a real mutual TLS 1.3 handshake', () => {
  let server: tls.Server | undefined;
  let client: tls.TLSSocket | undefined;

  afterEach(async () => {
    client?.destroy();
    client = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
  });

  for (const intermediate of [false, true]) {
    it(`both peers see each other's SPIFFE identity ${intermediate ? 'through an intermediate' : 'under the root'}`, async () => {
      const pki = createTestPki({ intermediate });
      const s = pki.issueWorkload(SERVER_ID);
      const c = pki.issueWorkload({ namespace: 'demo', serviceAccount: 'client' });
      let seenByServer = '';
      server = tls.createServer({
        key: s.keyPem,
        cert: s.chainPem,
        ca: s.rootPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      });
      server.on('secureConnection', (socket) => {
        seenByServer = socket.getPeerX509Certificate()?.subjectAltName ?? '';
        socket.end('ok');
      });
      const port = await new Promise<number>((resolve) =>
        server?.listen(0, '127.0.0.1', () => resolve((server?.address() as AddressInfo).port)),
      );
      const reply = await new Promise<{ peer: X509Certificate | undefined; data: string }>(
        (resolve, reject) => {
          const socket = tls.connect({
            host: '127.0.0.1',
            port,
            key: c.keyPem,
            cert: c.chainPem,
            ca: c.rootPem,
            minVersion: 'TLSv1.3',
            // Workload certificates carry no DNS or IP SAN: check the SPIFFE id instead of a hostname.
            checkServerIdentity: (_host, cert) =>
              cert.subjectaltname === `URI:${SERVER_ID}`
                ? undefined
                : new Error(`unexpected peer ${cert.subjectaltname}`),
          });
          client = socket;
          let data = '';
          socket.on('data', (d: Buffer) => (data += d.toString()));
          socket.on('end', () => resolve({ peer: socket.getPeerX509Certificate(), data }));
          socket.on('error', reject);
        },
      );
      assert.equal(reply.data, 'ok');
      assert.equal(reply.peer?.subjectAltName, `URI:${SERVER_ID}`);
      assert.equal(seenByServer, `URI:${CLIENT_ID}`);
    });
  }

  it('a peer with a certificate from another root is refused', async () => {
    const pki = createTestPki();
    const stranger = createTestPki().issueWorkload(CLIENT_ID);
    const s = pki.issueWorkload(SERVER_ID);
    server = tls.createServer({
      key: s.keyPem,
      cert: s.chainPem,
      ca: s.rootPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    let accepted = false;
    server.on('secureConnection', (socket) => {
      accepted = true;
      socket.end('should not happen');
    });
    server.on('tlsClientError', () => undefined);
    const port = await new Promise<number>((resolve) =>
      server?.listen(0, '127.0.0.1', () => resolve((server?.address() as AddressInfo).port)),
    );
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        key: stranger.keyPem,
        cert: stranger.chainPem,
        ca: s.rootPem,
        checkServerIdentity: () => undefined,
      });
      client = socket;
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.on('error', (e) => resolve(`error: ${e.message}`));
      socket.on('close', () => resolve(data === '' ? 'closed' : data));
    });
    assert.notEqual(outcome, 'should not happen');
    assert.equal(accepted, false);
  });
});
