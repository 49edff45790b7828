import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  HbonePool,
  HboneServer,
  HboneError,
  type HboneRequest,
  type HboneAnswer,
  type TlsMaterial,
} from '../../../../src/ztunnel/hbone/index.js';
import { splice, type CopyResult } from '../../../../src/ztunnel/proxy/index.js';
import { createTestPki, type TestCredential } from '../../../support/ca.js';
import { waitFor } from '../../../support/wait.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';

const material = (c: TestCredential): TlsMaterial => ({ keyPem: c.keyPem, certChainPem: c.chainPem, rootPem: c.rootPem });

/** Reads a duplex to its end (bounded). */
async function readAll(stream: Duplex, timeoutMs = 3000): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const t = setTimeout(() => stream.destroy(new Error('read timed out')), timeoutMs);
  try {
    await once(stream, 'end');
  } finally {
    clearTimeout(t);
  }
  return Buffer.concat(chunks).toString();
}

describe('ztunnel/hbone: mTLS HTTP/2 CONNECT tunnels over real sockets', () => {
  const pki = createTestPki();
  const frontend = material(pki.issueWorkload(FRONTEND));
  const backend = material(pki.issueWorkload(BACKEND));
  let app: net.Server;
  let appPort: number;
  let server: HboneServer;
  let serverPort: number;
  let pool: HbonePool;
  let tcpConnects: number;
  const seen: HboneRequest[] = [];
  const results: CopyResult[] = [];
  let answer: (req: HboneRequest) => Promise<HboneAnswer>;

  const acceptToApp = async (): Promise<HboneAnswer> => {
    const upstream = net.connect({ host: '127.0.0.1', port: appPort, allowHalfOpen: true });
    await once(upstream, 'connect');
    return {
      kind: 'accept',
      open: (tunnel) => splice(tunnel, upstream, undefined, (r) => results.push(r)),
      abandon: () => upstream.destroy(),
    };
  };

  const source = (identity = FRONTEND, m = frontend) => ({
    identity,
    material: m,
    connect: async (t: { ip: string; port: number }) => {
      tcpConnects++;
      const s = net.connect({ host: t.ip, port: t.port });
      await once(s, 'connect');
      return s;
    },
  });

  before(async () => {
    // The app: answers "echo:<everything it read>" after the client half-closes.
    app = net.createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`echo:${Buffer.concat(chunks).toString()}`));
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appPort = (app.address() as AddressInfo).port;
    server = new HboneServer({
      material: backend,
      trustDomain: 'cluster.local',
      handle: (req) => {
        seen.push(req);
        return answer(req);
      },
    });
    serverPort = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });

  beforeEach(() => {
    pool = new HbonePool({ connectTimeoutMs: 3000 });
    tcpConnects = 0;
    seen.length = 0;
    results.length = 0;
    answer = acceptToApp;
  });

  afterEach(() => pool.close());

  after(async () => {
    await server.close();
    await new Promise<void>((r) => app.close(() => r()));
  });

  const req = (over: Partial<Parameters<HbonePool['connect']>[0]> = {}) => ({
    source: source(),
    destination: { ip: '127.0.0.1', port: serverPort },
    expectedIdentities: [BACKEND],
    target: { ip: '127.0.0.1', port: appPort },
    ...over,
  });

  it('tunnels bytes both ways with half-close, and the server sees the client SPIFFE identity and target', async () => {
    const stream = await pool.connect(req({ headers: { baggage: 'k8s.namespace.name=demo' } }));
    stream.end('hello');
    assert.equal(await readAll(stream), 'echo:hello');
    assert.equal(seen[0]?.peerUri, FRONTEND);
    assert.deepEqual(seen[0]?.peer, { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount: 'frontend' });
    assert.deepEqual(seen[0]?.target, { ip: '127.0.0.1', port: appPort });
    assert.equal(seen[0]?.headers.baggage, 'k8s.namespace.name=demo');
    await waitFor(() => results.length > 0, 'the tunnel result');
    assert.deepEqual(results[0] && { in: results[0].bytesFromPeer, out: results[0].bytesToPeer }, { in: 5, out: 10 });
  });

  it('pools streams of one (source, destination identity, address) on one connection', async () => {
    const streams = await Promise.all([1, 2, 3, 4, 5].map(() => pool.connect(req())));
    assert.equal(tcpConnects, 1);
    assert.deepEqual(pool.stats().map((s) => s.connections), [1]);
    const replies = await Promise.all(streams.map((s, i) => (s.end(`m${i}`), readAll(s))));
    assert.deepEqual(replies, ['echo:m0', 'echo:m1', 'echo:m2', 'echo:m3', 'echo:m4']);
  });

  it('opens another connection when a connection has its maximum of streams', async () => {
    pool.close();
    pool = new HbonePool({ maxStreamsPerConnection: 2 });
    const streams = await Promise.all([1, 2, 3, 4, 5].map(() => pool.connect(req())));
    assert.equal(tcpConnects, 3);
    for (const s of streams) s.destroy();
  });

  it('keeps separate connections for different source identities', async () => {
    const other = material(pki.issueWorkload('spiffe://cluster.local/ns/demo/sa/other'));
    const a = await pool.connect(req());
    const b = await pool.connect(req({ source: source('spiffe://cluster.local/ns/demo/sa/other', other) }));
    assert.equal(tcpConnects, 2);
    a.destroy();
    b.destroy();
  });

  it('refuses a peer whose certificate does not carry the expected identity (IDENTITY_ERROR)', async () => {
    await assert.rejects(
      pool.connect(req({ expectedIdentities: ['spiffe://cluster.local/ns/demo/sa/someone-else'] })),
      (e: unknown) => e instanceof HboneError && e.code === 'HBONE_IDENTITY_ERROR' && /presented .*backend/.test(e.message),
    );
  });

  it('fails the TLS handshake for a client certificate from another root', async () => {
    const stranger = createTestPki();
    const m = material(stranger.issueWorkload(FRONTEND));
    await assert.rejects(
      pool.connect(req({ source: { ...source(FRONTEND, { ...m, rootPem: pki.rootPem }) } })),
      (e: unknown) => e instanceof HboneError && e.code === 'HBONE_TLS_FAILURE',
    );
    assert.equal(seen.length, 0);
  });

  it('answers a refusal on the stream (401) and keeps the connection up for the next stream', async () => {
    answer = async () => ({ kind: 'reject', status: 401, reason: 'denied by policy' });
    await assert.rejects(pool.connect(req()), (e: unknown) => e instanceof HboneError && e.code === 'HBONE_HTTP_STATUS' && e.status === 401);
    answer = acceptToApp;
    const s = await pool.connect(req());
    s.end('again');
    assert.equal(await readAll(s), 'echo:again');
    assert.equal(tcpConnects, 1);
  });

  it('gives up on a CONNECT the peer never answers (HBONE_CONNECT_TIMEOUT), without hanging', async () => {
    pool.close();
    pool = new HbonePool({ connectTimeoutMs: 300 });
    answer = () => new Promise<HboneAnswer>(() => undefined);
    const started = Date.now();
    await assert.rejects(pool.connect(req()), (e: unknown) => e instanceof HboneError && e.code === 'HBONE_CONNECT_TIMEOUT');
    assert.ok(Date.now() - started < 3000);
  });

  it('answers 400 to a request that is not CONNECT and to a bad authority', async () => {
    const session = http2.connect(`https://127.0.0.1:${serverPort}`, {
      key: frontend.keyPem,
      cert: frontend.certChainPem,
      ca: frontend.rootPem,
      checkServerIdentity: () => undefined,
    });
    try {
      const get = session.request({ ':method': 'GET', ':path': '/' });
      const [h1] = (await once(get, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(h1[':status'], 400);
      get.destroy();
      const bad = session.request({ ':method': 'CONNECT', ':authority': 'backend.demo:80' });
      const [h2] = (await once(bad, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(h2[':status'], 400);
      bad.destroy();
      assert.equal(seen.length, 0);
    } finally {
      session.destroy();
    }
  });

  it('reports an unreachable destination as an error, not a hang', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(pool.connect(req({ destination: { ip: '127.0.0.1', port } })), /ECONNREFUSED/);
  });

  it('opens a new connection after the server sends GOAWAY', async () => {
    const first = await pool.connect(req());
    first.end('x');
    await readAll(first);
    // Restart the server side: every session gets GOAWAY.
    await server.close(100);
    serverPort = (await server.listen({ host: '127.0.0.1', port: serverPort })).port;
    await waitFor(() => pool.stats().length === 0, 'the pool to drop the connection that got GOAWAY');
    const second = await pool.connect(req());
    second.end('y');
    assert.equal(await readAll(second), 'echo:y');
    assert.equal(tcpConnects, 2);
  });
});
