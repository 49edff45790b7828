/**
 * Refused CONNECTs are a normal answer (a DENY, a closed port): thousands of
 * them on one pooled connection must not look like a rapid-reset attack to
 * the peer (nghttp2 answers GOAWAY past 1000 RST_STREAMs, then 33/s), which
 * would reset every tunnel sharing that connection.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { HbonePool, HboneServer, HboneError, type TlsMaterial, type EvictionReason } from '../../../../src/ztunnel/hbone/index.js';
import { echoConnection, loopbackSource, spliceToLoopback } from '../../../support/hbone-loopback.js';
import { createTestPki, type TestCredential } from '../../../support/ca.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';
const material = (c: TestCredential): TlsMaterial => ({ keyPem: c.keyPem, certChainPem: c.chainPem, rootPem: c.rootPem });
const REFUSED_PORT = 9;
const EACH = 3000;
const CONCURRENCY = 16;

describe('ztunnel/hbone: refused CONNECTs on a pooled connection', function () {
  this.timeout(60_000);
  const pki = createTestPki();
  const frontend = material(pki.issueWorkload(FRONTEND));
  const backend = material(pki.issueWorkload(BACKEND));
  let app: net.Server;
  let server: HboneServer;
  let port: number;

  before(async () => {
    app = net.createServer(echoConnection);
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    server = new HboneServer({
      material: backend,
      trustDomain: 'cluster.local',
      handle: async (req) => {
        if (req.target.port === REFUSED_PORT) return { kind: 'reject', status: 503, reason: 'refused by the test' };
        return spliceToLoopback((app.address() as AddressInfo).port);
      },
    });
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });
  after(async () => {
    await server?.close();
    await new Promise<void>((r) => app.close(() => r()));
  });

  it(`${EACH} refusals interleaved with ${EACH} echoes: no connection is evicted and every echo answers`, async () => {
    const evictions: EvictionReason[] = [];
    const pool = new HbonePool({ connectTimeoutMs: 5000, onEvict: (r) => evictions.push(r) });
    const connect = (targetPort: number) =>
      pool.connect({
        source: loopbackSource(FRONTEND, frontend),
        destination: { ip: '127.0.0.1', port },
        expectedIdentities: [BACKEND],
        target: { ip: '127.0.0.1', port: targetPort },
      });
    let echoed = 0;
    let refused = 0;
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 2 * EACH) {
        const i = next++;
        if (i % 2 === 1) {
          await connect(REFUSED_PORT).then(
            () => failures.push('a refused target was accepted'),
            (e: unknown) => (e instanceof HboneError && e.code === 'HBONE_HTTP_STATUS' ? refused++ : failures.push(String(e))),
          );
          continue;
        }
        try {
          const stream = await connect((app.address() as AddressInfo).port);
          stream.end(`echo ${i}`);
          const chunks: Buffer[] = [];
          stream.on('data', (d: Buffer) => chunks.push(d));
          await once(stream, 'end');
          if (Buffer.concat(chunks).toString() === `echo ${i}`) echoed++;
          else failures.push(`echo ${i} answered ${Buffer.concat(chunks).toString()}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    let evictedWhileServing: EvictionReason[];
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      evictedWhileServing = [...evictions];
    } finally {
      pool.close();
    }
    assert.deepEqual(failures.slice(0, 5), []);
    assert.equal(echoed, EACH);
    assert.equal(refused, EACH);
    assert.deepEqual(evictedWhileServing, [], 'no pooled connection was evicted');
  });
});
