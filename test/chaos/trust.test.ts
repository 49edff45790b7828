/**
 * Trust under time and adversaries, against a real two-node netns mesh whose
 * workload certificates live 40 s: the certificate a pod's HBONE listener
 * serves rotates over several lifetimes (its serial changes, it is never
 * served expired) and mTLS keeps working after the first certificate has
 * expired; and istiod's authenticated port (15012) refuses xDS and CA callers
 * without a valid node token, and a node's token for another node's
 * identities.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GrpcCaClient } from '../../src/ztunnel/identity/index.js';
import { ChaosMesh } from '../support/chaos-mesh.js';
import { newCsr } from '../support/ca.js';
import { tcpFromPod } from '../support/netns.js';
import { servedCertificate, type ServedCertificate } from '../support/tls-probe.js';
import { DeltaXdsClient, ztunnelNodeId } from '../support/xds-client.js';

/** Workload certificate lifetime of this mesh (Istio allows any; 30–60 s makes rotation observable). */
const CERT_TTL_SECONDS = 40;
/** Observe this many lifetimes. */
const LIFETIMES = 3;
const PROBE_EVERY_MS = 3_000;
/** The name istiod's serving certificate carries in the local mesh. */
const ISTIOD_NAME = 'istiod.istio-system.svc';
const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';

describe('chaos: certificate rotation with 40 s certificates and authenticated xDS/CA on the real istiod', function () {
  this.timeout(60_000);
  const mesh = new ChaosMesh({
    prefix: 'a9c-tr',
    certTtl: `${CERT_TTL_SECONDS}s`,
  });

  before(async function () {
    this.timeout(240_000);
    await mesh.up();
  });

  after(async function () {
    this.timeout(120_000);
    await mesh.teardown();
  });

  const rootPem = (): string => readFileSync(join(mesh.processes.state().caDir, 'root-cert.pem'), 'utf8');
  const nodeToken = (node: string): string => readFileSync(join(mesh.stateDir, node, 'token'), 'utf8').trim();
  const secureAddress = (): string => mesh.processes.state().istiod.secureGrpcAddress;

  it(`rotates the certificate served on 15008 over ${LIFETIMES} lifetimes and keeps mTLS working after the first expired`, async function () {
    this.timeout((LIFETIMES * CERT_TTL_SECONDS + 60) * 1000);
    const backend = mesh.pod('backend', 0);
    const frontend = mesh.pod('frontend');
    const first = await servedCertificate(mesh.cluster, mesh.outsider.name, backend.ips[0]!);
    const firstNotAfter = Date.parse(first.validTo);
    const lifetimeS = (firstNotAfter - Date.parse(first.validFrom)) / 1000;
    assert.ok(lifetimeS <= CERT_TTL_SECONDS + 60, `the first certificate is short-lived (${lifetimeS} s; notBefore may be back-dated)`);
    const end = Date.now() + LIFETIMES * CERT_TTL_SECONDS * 1000;
    const served: (ServedCertificate & { at: number })[] = [{ ...first, at: Date.now() }];
    const exchanges: { at: number; ok: boolean; detail: string }[] = [];
    // Sampling at a fixed rate is the experiment: a bounded loop over the observation window.
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      const at = Date.now();
      try {
        served.push({ ...(await servedCertificate(mesh.cluster, mesh.outsider.name, backend.ips[0]!)), at });
      } catch (err) {
        served.push({ serialNumber: 'none', validFrom: '', validTo: '', subjectAltName: (err as Error).message, at });
      }
      const r = await tcpFromPod(mesh.cluster, frontend.name, backend.ips[0]!, 8080, 'GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n', 5000);
      exchanges.push({ at, ok: r.kind === 'reply' && r.text.startsWith('HTTP/1.1 200'), detail: r.kind === 'reply' ? r.text.slice(0, 40) : r.reason });
    }
    const serials = [...new Set(served.map((s) => s.serialNumber))];
    const expiredServed = served.filter((s) => s.validTo !== '' && Date.parse(s.validTo) <= s.at);
    const afterExpiry = exchanges.filter((e) => e.at > firstNotAfter);
    const failedAfterExpiry = afterExpiry.filter((e) => !e.ok);
    console.log(
      `chaos: rotation: TTL ${CERT_TTL_SECONDS} s, ${served.length} probes over ${LIFETIMES} lifetimes, ${serials.length} distinct serials served on 15008; ` +
        `first expired at ${new Date(firstNotAfter).toISOString()}; ${afterExpiry.length - failedAfterExpiry.length}/${afterExpiry.length} mTLS exchanges after it succeeded; ${expiredServed.length} expired certificates served`,
    );
    assert.ok(serials.length >= LIFETIMES, `the served serial changed at least ${LIFETIMES - 1} times: ${serials.join(', ')}`);
    assert.ok(!serials.includes('none'), `every probe got a certificate: ${served.filter((s) => s.serialNumber === 'none').map((s) => s.subjectAltName).join('; ')}`);
    assert.deepEqual(expiredServed.map((s) => `${s.serialNumber} expired ${s.validTo}`), [], 'no expired certificate is ever served');
    assert.ok(afterExpiry.length >= 5, `enough exchanges after the first certificate expired (${afterExpiry.length})`);
    assert.deepEqual(failedAfterExpiry.map((e) => e.detail), [], 'mTLS keeps working after the first certificate expired');
  });

  describe('xDS on 15012', () => {
    type XdsOutcome = { kind: 'refused'; code: number; details: string } | { kind: 'served'; resources: number };

    async function xds(token: string | undefined): Promise<XdsOutcome> {
      let credentials = grpc.credentials.createSsl(Buffer.from(rootPem()));
      if (token !== undefined) {
        credentials = grpc.credentials.combineChannelCredentials(
          credentials,
          grpc.credentials.createFromMetadataGenerator((_params, callback) => {
            const md = new grpc.Metadata();
            md.set('authorization', `Bearer ${token}`);
            callback(null, md);
          }),
        );
      }
      const client = new DeltaXdsClient(secureAddress(), {
        nodeId: ztunnelNodeId('ztunnel-node0'),
        nodeName: 'node0',
        credentials,
        channelOptions: { 'grpc.ssl_target_name_override': ISTIOD_NAME },
      });
      try {
        client.subscribe(ADDRESS_TYPE_URL);
        try {
          const resp = await client.next(10_000);
          return { kind: 'served', resources: resp.resources.length };
        } catch (err) {
          if (client.ended !== undefined) return { kind: 'refused', code: client.ended.code, details: client.ended.details };
          throw err;
        }
      } finally {
        client.close();
      }
    }

    it('refuses a stream without a token with UNAUTHENTICATED and sends no resource', async () => {
      const r = await xds(undefined);
      console.log(`chaos: xds without a token: ${JSON.stringify(r)}`);
      assert.equal(r.kind, 'refused', `istiod served an unauthenticated client: ${JSON.stringify(r)}`);
      assert.equal(r.kind === 'refused' ? r.code : -1, grpc.status.UNAUTHENTICATED);
    });

    it('refuses a stream with a bad token with UNAUTHENTICATED', async () => {
      const r = await xds('not-a-node-token');
      console.log(`chaos: xds with a bad token: ${JSON.stringify(r)}`);
      assert.equal(r.kind, 'refused', `istiod served a client with a bad token: ${JSON.stringify(r)}`);
      assert.equal(r.kind === 'refused' ? r.code : -1, grpc.status.UNAUTHENTICATED);
    });

    it("serves a node agent's good token", async () => {
      const r = await xds(nodeToken('node0'));
      assert.equal(r.kind, 'served', JSON.stringify(r));
      assert.ok(r.kind === 'served' && r.resources > 0, 'the workloads are sent');
    });
  });

  describe('the CA on 15012', () => {
    async function ask(token: string | undefined, identity: string): Promise<{ ok: true } | { ok: false; code: number | undefined; message: string }> {
      const client = new GrpcCaClient({ address: secureAddress(), rootPem: rootPem(), serverName: ISTIOD_NAME, ...(token !== undefined ? { token } : {}) });
      try {
        const { csrPem } = newCsr({ uris: [identity] });
        const chain = await client.createCertificate({ csrPem, identity, ttlSeconds: CERT_TTL_SECONDS });
        assert.ok(chain.length > 0);
        return { ok: true };
      } catch (err) {
        return { ok: false, code: (err as { grpcCode?: number }).grpcCode ?? ((err as Error).cause as { code?: number } | undefined)?.code, message: (err as Error).message };
      } finally {
        client.close();
      }
    }
    const frontendId = 'spiffe://cluster.local/ns/demo/sa/frontend';
    const backendId = 'spiffe://cluster.local/ns/demo/sa/backend';

    it("signs node0's token for an identity on node0", async () => {
      const r = await ask(nodeToken('node0'), frontendId);
      assert.deepEqual(r, { ok: true });
    });

    for (const c of [
      { name: 'no token', token: (): string | undefined => undefined, identity: frontendId, code: grpc.status.UNAUTHENTICATED },
      { name: 'a bad token', token: (): string | undefined => 'not-a-node-token', identity: frontendId, code: grpc.status.UNAUTHENTICATED },
      { name: "node0's token asking for node1's identity", token: (): string | undefined => nodeToken('node0'), identity: backendId, code: grpc.status.PERMISSION_DENIED },
      { name: "node1's token asking for node0's identity", token: (): string | undefined => nodeToken('node1'), identity: frontendId, code: grpc.status.PERMISSION_DENIED },
    ]) {
      it(`refuses ${c.name} (${grpc.status[c.code]})`, async () => {
        const r = await ask(c.token(), c.identity);
        console.log(`chaos: CA with ${c.name}: ${JSON.stringify(r)}`);
        assert.equal(r.ok, false, `the CA signed ${c.identity} for ${c.name}`);
        assert.equal(r.ok ? -1 : r.code, c.code, r.ok ? '' : r.message);
      });
    }
  });
});
