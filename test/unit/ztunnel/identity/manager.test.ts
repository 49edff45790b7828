import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Registry, type Gauge } from 'prom-client';
import { CertificateSigner, parseCsr } from '../../../../src/istiod/ca/index.js';
import {
  CertificateManager,
  type CaClient,
  type CertificateRequest,
  type Scheduler,
} from '../../../../src/ztunnel/identity/index.js';
import { createTestPki, type TestPki } from '../../../support/ca.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';
/** Whole seconds, as certificates carry them; the test CA's own validity starts now. */
const START_MS = Math.floor(Date.now() / 1000) * 1000;

/** Timers on a clock that moves only when told to. */
class FakeClock implements Scheduler {
  ms = START_MS;
  private seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.ms;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.ms + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Delays of the pending timers from now, sorted. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.ms).sort((a, b) => a - b);
  }

  /** Moves to the next timer and runs it. */
  fireNext(): void {
    const [id, t] = [...this.timers.entries()].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
    if (id === undefined || t === undefined) throw new Error('no timer pending');
    this.timers.delete(id);
    this.ms = Math.max(this.ms, t.at);
    t.fn();
  }
}

/** A CA that signs with a test PKI on the fake clock, and can be told to fail, stall or lie. */
class FakeCa implements CaClient {
  calls: CertificateRequest[] = [];
  failNext = 0;
  issueAs: string | undefined;
  gate: Promise<void> | undefined;
  closed = false;
  private readonly signer: CertificateSigner;

  constructor(pki: TestPki, clock: FakeClock) {
    this.signer = new CertificateSigner(pki.material, { now: () => clock.now() });
  }

  async createCertificate(request: CertificateRequest): Promise<readonly string[]> {
    this.calls.push(request);
    if (this.gate !== undefined) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('CA unavailable');
    }
    const csr = parseCsr(request.csrPem);
    assert.deepEqual(csr.uris, [request.identity]);
    assert.equal(csr.keyDescription, 'ECDSA P-256');
    return this.signer.issueWorkloadCertificateSync(csr.subjectPublicKeyInfoDer, this.issueAs ?? request.identity, request.ttlSeconds)
      .certChain;
  }

  close(): void {
    this.closed = true;
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('CertificateManager', () => {
  let pki: TestPki;
  let clock: FakeClock;
  let ca: FakeCa;
  let registry: Registry;
  let manager: CertificateManager;

  before(() => {
    pki = createTestPki({ intermediate: true });
  });
  beforeEach(() => {
    clock = new FakeClock();
    ca = new FakeCa(pki, clock);
    registry = new Registry();
    manager = new CertificateManager({ ca, scheduler: clock, random: () => 0.5, registry, ttlSeconds: 3600 });
  });
  afterEach(() => manager.close());

  it('fetches in the background on retain and serves TLS material: key, chain without the root, root bundle', async () => {
    manager.retain(FRONTEND);
    assert.equal(manager.state(FRONTEND), 'Initializing');
    await until(() => manager.findCertificate(FRONTEND) !== undefined, 'certificate');
    const cert = manager.findCertificate(FRONTEND)!;
    assert.equal(manager.state(FRONTEND), 'Available');
    assert.equal(ca.calls.length, 1);
    assert.equal(ca.calls[0]!.ttlSeconds, 3600);
    const leaf = new X509Certificate(cert.certChainPem);
    assert.equal(leaf.subjectAltName, `URI:${FRONTEND}`);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(cert.keyPem)));
    assert.equal(cert.certChainPem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf and intermediate');
    assert.equal(cert.rootPem, pki.rootPem);
    assert.equal(manager.rootPem, pki.rootPem);
    assert.equal(cert.serialHex, leaf.serialNumber);
  });

  it('shares one CA request between concurrent fetches', async () => {
    let open!: () => void;
    ca.gate = new Promise((r) => (open = r));
    const fetches = [manager.fetchCertificate(FRONTEND), manager.fetchCertificate(FRONTEND), manager.fetchCertificate(FRONTEND)];
    open();
    const certs = await Promise.all(fetches);
    assert.equal(ca.calls.length, 1);
    assert.ok(certs.every((c) => c === certs[0]));
    assert.deepEqual(manager.identities(), [], 'a fetch without retain is not kept');
  });

  it('refreshes at half the lifetime, moved earlier by the jitter, and swaps in the new certificate', async () => {
    manager.retain(FRONTEND);
    await until(() => manager.findCertificate(FRONTEND) !== undefined, 'certificate');
    const first = manager.findCertificate(FRONTEND)!;
    // 3600 s lifetime from now: 1800 s, minus 5 % x 0.5 of the lifetime = 1710 s.
    assert.deepEqual(clock.pending(), [1_710_000]);
    clock.fireNext();
    await until(() => manager.findCertificate(FRONTEND) !== first, 'refreshed certificate');
    assert.equal(ca.calls.length, 2);
    assert.notEqual(manager.findCertificate(FRONTEND)!.serialHex, first.serialHex);
    assert.deepEqual(clock.pending(), [1_710_000]);
  });

  it('announces every certificate it issues for a held identity, the renewal included, after it is the one served', async () => {
    const seen: string[] = [];
    manager.onIssued((c) => {
      assert.equal(manager.findCertificate(c.identity), c, 'listeners see the new certificate in force');
      seen.push(c.serialHex);
    });
    manager.onIssued(() => {
      throw new Error('a failing listener does not stop the others');
    });
    manager.retain(FRONTEND);
    await until(() => seen.length === 1, 'first announced');
    clock.fireNext();
    await until(() => seen.length === 2, 'renewal announced');
    assert.notEqual(seen[0], seen[1]);
    await manager.fetchCertificate(BACKEND);
    assert.equal(seen.length, 2, 'a one-off fetch for an identity nobody holds is not announced');
  });

  it('retries with exponential backoff capped at 150 s, keeping the unexpired certificate meanwhile', async () => {
    manager.retain(FRONTEND);
    await until(() => manager.findCertificate(FRONTEND) !== undefined, 'certificate');
    const held = manager.findCertificate(FRONTEND)!;
    ca.failNext = 20;
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const calls = ca.calls.length;
      clock.fireNext();
      await until(() => ca.calls.length === calls + 1 && clock.timers.size === 1, `attempt ${i}`);
      delays.push(clock.pending()[0]!);
    }
    assert.deepEqual(delays.slice(0, 4), [500, 1000, 2000, 4000]);
    assert.equal(delays.at(-1), 150_000);
    assert.ok(delays.every((d) => d <= 150_000));
    assert.equal(manager.findCertificate(FRONTEND), held, 'the old certificate is still in use');
    assert.equal(manager.state(FRONTEND), 'Available');
    assert.equal(manager.dump()[0]!.failures, 12);
  });

  it('reports Unavailable with the error when the first fetch fails, and fetches at once on demand', async () => {
    ca.failNext = 1;
    manager.retain(FRONTEND);
    await until(() => manager.state(FRONTEND) === 'Unavailable', 'unavailable');
    assert.equal(manager.dump()[0]!.state, 'Unavailable: CA unavailable');
    assert.deepEqual(clock.pending(), [500], 'a retry is scheduled');
    const cert = await manager.fetchCertificate(FRONTEND);
    assert.equal(manager.state(FRONTEND), 'Available');
    assert.equal(manager.findCertificate(FRONTEND), cert);
    assert.deepEqual(clock.pending(), [1_710_000], 'the retry gave way to the refresh');
  });

  it('refuses a certificate that names another identity: IDENTITY_MISMATCH, nothing cached', async () => {
    ca.issueAs = BACKEND;
    await assert.rejects(manager.fetchCertificate(FRONTEND), (e: { code?: string }) => e.code === 'IDENTITY_MISMATCH');
    assert.equal(manager.findCertificate(FRONTEND), undefined);
  });

  it('refuses what is not an Istio SPIFFE identity: IDENTITY_INVALID', async () => {
    assert.throws(() => manager.retain('spiffe://cluster.local/ns/demo'), (e: { code?: string }) => e.code === 'IDENTITY_INVALID');
    await assert.rejects(manager.fetchCertificate('frontend'), (e: { code?: string }) => e.code === 'IDENTITY_INVALID');
  });

  it('counts retains and drops the certificate and its timer with the last release', async () => {
    manager.retain(FRONTEND);
    manager.retain(FRONTEND);
    manager.retain(BACKEND);
    await until(() => manager.findCertificate(FRONTEND) !== undefined && manager.findCertificate(BACKEND) !== undefined, 'certificates');
    assert.equal(ca.calls.length, 2, 'one fetch per identity');
    manager.release(FRONTEND);
    assert.notEqual(manager.findCertificate(FRONTEND), undefined);
    manager.release(FRONTEND);
    assert.equal(manager.findCertificate(FRONTEND), undefined);
    assert.deepEqual(manager.identities(), [BACKEND]);
    assert.equal(clock.timers.size, 1, 'only the backend refresh is scheduled');
    manager.release('spiffe://cluster.local/ns/x/sa/unknown');
  });

  it('dumps identities sorted with state, hex serial, validity and chain, and exports seconds to expiry', async () => {
    manager.retain(FRONTEND);
    manager.retain(BACKEND);
    await until(() => manager.dump().every((d) => d.state === 'Available'), 'available');
    const dump = manager.dump();
    assert.deepEqual(dump.map((d) => d.identity), [BACKEND, FRONTEND]);
    assert.match(dump[0]!.serialNumber ?? '', /^[0-9A-F]+$/);
    assert.equal(dump[0]!.certChain.length, 2);
    assert.equal(dump[0]!.rootCerts.length, 1);
    assert.ok(Date.parse(dump[0]!.notAfter!) > Date.parse(dump[0]!.notBefore!));
    clock.ms += 600_000;
    const gauge = registry.getSingleMetric('istio_agent_cert_expiry_seconds') as Gauge;
    const values = (await gauge.get()).values;
    assert.deepEqual(values.map((v) => v.labels.resource_name).sort(), [BACKEND, FRONTEND]);
    for (const v of values) assert.ok(Math.abs(v.value - 3000) <= 1, `expiry ${v.value}`);
  });

  it('fails every call after close and closes the CA client', async () => {
    manager.retain(FRONTEND);
    manager.close();
    assert.equal(ca.closed, true);
    assert.equal(clock.timers.size, 0);
    await assert.rejects(manager.fetchCertificate(FRONTEND), (e: { code?: string }) => e.code === 'IDENTITY_CLOSED');
  });
});
