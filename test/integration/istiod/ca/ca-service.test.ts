import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import {
  IstioCertificateRequestSchema,
  type IstioCertificateResponse,
} from '../../../../src/gen/istio/v1/auth/ca_pb.js';
import {
  CaService,
  CertificateSigner,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  loadOrCreateCaMaterial,
  MAX_WORKLOAD_CERT_TTL_SECONDS,
  NodeTokenAuthenticator,
  type CaMaterial,
} from '../../../../src/istiod/ca/index.js';
import { CaClientCtor, type CaClient } from '../../../support/ca-client.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import {
  createTestPki,
  newCsr,
  opensslVerify,
  staticNodeIdentities,
  writePluginCaDir,
} from '../../../support/ca.js';

const TD = 'cluster.local';
const NODE1_TOKEN = 'node-1-bootstrap-token-0123456789';
const NODE2_TOKEN = 'node-2-bootstrap-token-0123456789';
const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';

interface Running {
  readonly server: grpc.Server;
  readonly client: CaClient;
  readonly material: CaMaterial;
  readonly registry: Registry;
}

async function start(material: CaMaterial, tls: boolean): Promise<Running> {
  const signer = new CertificateSigner(material);
  const registry = new Registry();
  const service = new CaService({
    signer,
    authenticator: new NodeTokenAuthenticator([
      { token: NODE1_TOKEN, node: 'node-1' },
      { token: NODE2_TOKEN, node: 'node-2' },
    ]),
    nodeIdentities: staticNodeIdentities({ 'node-1': [FRONTEND], 'node-2': [BACKEND] }),
    registry,
    logger: silentLogger,
  });
  const server = new grpc.Server();
  service.addToServer(server);
  let serverCreds = grpc.ServerCredentials.createInsecure();
  let clientCreds = grpc.credentials.createInsecure();
  let clientOptions: grpc.ChannelOptions = {};
  if (tls) {
    const serving = signer.issueServingCertificate(
      ['istiod.istio-system.svc', 'localhost', '127.0.0.1'],
      3600,
    );
    serverCreds = grpc.ServerCredentials.createSsl(
      null,
      [{ cert_chain: Buffer.from(serving.chainPem), private_key: Buffer.from(serving.keyPem) }],
      false,
    );
    clientCreds = grpc.credentials.createSsl(Buffer.from(serving.rootPem));
    // Connect to 127.0.0.1 but verify the DNS SAN a node agent would use (and send it as SNI).
    clientOptions = {
      'grpc.ssl_target_name_override': 'istiod.istio-system.svc',
      'grpc.default_authority': 'istiod.istio-system.svc',
    };
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCreds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const client = new CaClientCtor(`127.0.0.1:${port}`, clientCreds, clientOptions);
  return { server, client, material, registry };
}

async function stop(r: Running | undefined): Promise<void> {
  if (r === undefined) return;
  r.client.close();
  await new Promise<void>((resolve) => r.server.tryShutdown(() => resolve()));
}

function call(
  r: Running,
  fields: { csr: string; validityDuration?: bigint; impersonate?: string },
  token: string | null = NODE1_TOKEN,
): Promise<IstioCertificateResponse> {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  const req = create(IstioCertificateRequestSchema, {
    csr: fields.csr,
    validityDuration: fields.validityDuration ?? 0n,
    ...(fields.impersonate === undefined ? {} : { metadata: { ImpersonatedIdentity: fields.impersonate } }),
  });
  return new Promise((resolve, reject) => {
    r.client.createCertificate(req, md, { deadline: Date.now() + 10_000 }, (err, res) =>
      err || res === undefined ? reject(err) : resolve(res),
    );
  });
}

function rejectsWith(status: grpc.status, mentions: string) {
  return (e: unknown): boolean => {
    const err = e as grpc.ServiceError;
    assert.equal(err.code, status, `${grpc.status[err.code]}: ${err.details}`);
    assert.ok(err.details.includes(mentions), err.details);
    return true;
  };
}

async function assertVerifies(res: IstioCertificateResponse): Promise<void> {
  const chain = res.certChain;
  const leaf = chain[0] ?? '';
  const root = chain[chain.length - 1] ?? '';
  const result = await opensslVerify(root, chain.slice(1, -1).join(''), leaf);
  assert.ok(result.ok, result.output);
}

describe('istiod/ca over gRPC', function () {
  this.timeout(30_000);
  let dir = '';
  let running: Running | undefined;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ambit-ca-it-'));
  });
  afterEach(async () => {
    await stop(running);
    running = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  for (const tls of [false, true]) {
    describe(tls ? 'over TLS with the serving certificate' : 'over plaintext', () => {
      beforeEach(async () => {
        const material = await loadOrCreateCaMaterial({
          caDir: path.join(dir, 'ca'),
          trustDomain: TD,
          logger: silentLogger,
        });
        running = await start(material, tls);
      });

      it('issues [leaf, root] whose leaf openssl verifies, with the SPIFFE SAN and a 24 h default life', async () => {
        const r = running as Running;
        const res = await call(r, { csr: newCsr({ uris: [FRONTEND] }).csrPem });
        assert.equal(res.certChain.length, 2);
        for (const pem of res.certChain) assert.ok(pem.endsWith('\n'));
        assert.equal(res.certChain[1], r.material.rootPems.join(''));
        await assertVerifies(res);
        const leaf = new X509Certificate(res.certChain[0] ?? '');
        assert.equal(leaf.subjectAltName, `URI:${FRONTEND}`);
        const life = Date.parse(leaf.validTo) - Date.now();
        assert.ok(Math.abs(life - DEFAULT_WORKLOAD_CERT_TTL_SECONDS * 1000) < 5_000, `life ${life} ms`);
      });

      it('issues for an impersonated identity of a workload on the caller node', async () => {
        const res = await call(running as Running, {
          csr: newCsr({ uris: [FRONTEND] }).csrPem,
          impersonate: FRONTEND,
        });
        assert.equal(new X509Certificate(res.certChain[0] ?? '').subjectAltName, `URI:${FRONTEND}`);
      });

      it('refuses an identity whose workload is on another node with PERMISSION_DENIED', async () => {
        await assert.rejects(
          call(running as Running, { csr: newCsr({ uris: [BACKEND] }).csrPem, impersonate: BACKEND }),
          rejectsWith(grpc.status.PERMISSION_DENIED, `node node-1 has no workload with identity ${BACKEND}`),
        );
      });

      it('refuses an unknown token with UNAUTHENTICATED', async () => {
        await assert.rejects(
          call(
            running as Running,
            { csr: newCsr({ uris: [FRONTEND] }).csrPem },
            'not-a-known-token-0123456789',
          ),
          rejectsWith(grpc.status.UNAUTHENTICATED, 'not one of the node tokens'),
        );
      });

      it('refuses a call without a token with UNAUTHENTICATED', async () => {
        await assert.rejects(
          call(running as Running, { csr: newCsr({ uris: [FRONTEND] }).csrPem }, null),
          rejectsWith(grpc.status.UNAUTHENTICATED, 'no authorization'),
        );
      });

      it('refuses a bad CSR with INVALID_ARGUMENT', async () => {
        await assert.rejects(
          call(running as Running, { csr: 'not a csr' }),
          rejectsWith(grpc.status.INVALID_ARGUMENT, 'CSR is malformed'),
        );
      });

      it('refuses a CSR whose SAN is not the impersonated identity with INVALID_ARGUMENT', async () => {
        await assert.rejects(
          call(running as Running, { csr: newCsr({ uris: [BACKEND] }).csrPem, impersonate: FRONTEND }),
          rejectsWith(grpc.status.INVALID_ARGUMENT, 'does not match the requested identity'),
        );
      });

      it('refuses an identity in another trust domain with PERMISSION_DENIED', async () => {
        await assert.rejects(
          call(running as Running, {
            csr: newCsr({ uris: ['spiffe://evil.example/ns/demo/sa/frontend'] }).csrPem,
          }),
          rejectsWith(grpc.status.PERMISSION_DENIED, 'trust domain'),
        );
      });
    });
  }

  const ttls: { name: string; requested: bigint; wantSeconds: number }[] = [
    { name: 'a requested hour', requested: 3600n, wantSeconds: 3600 },
    {
      name: 'a negative request (the default)',
      requested: -1n,
      wantSeconds: DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
    },
    {
      name: 'a request above the maximum (capped at 90 d)',
      requested: 400n * 86400n,
      wantSeconds: MAX_WORKLOAD_CERT_TTL_SECONDS,
    },
  ];
  for (const c of ttls) {
    it(`grants ${c.name}`, async () => {
      running = await start(
        await loadOrCreateCaMaterial({
          caDir: dir,
          trustDomain: TD,
          keyType: 'ecdsa-p256',
          logger: silentLogger,
        }),
        false,
      );
      const res = await call(running, {
        csr: newCsr({ uris: [FRONTEND] }).csrPem,
        validityDuration: c.requested,
      });
      const life = Date.parse(new X509Certificate(res.certChain[0] ?? '').validTo) - Date.now();
      assert.ok(Math.abs(life - c.wantSeconds * 1000) < 5_000, `life ${life} ms, want ${c.wantSeconds} s`);
    });
  }

  it('keeps the root across restarts: a certificate issued after a restart verifies against the first root', async () => {
    const caDir = path.join(dir, 'persist');
    running = await start(
      await loadOrCreateCaMaterial({ caDir, trustDomain: TD, logger: silentLogger }),
      false,
    );
    const before = await call(running, { csr: newCsr({ uris: [FRONTEND] }).csrPem });
    await stop(running);
    running = undefined;
    assert.equal((await fs.stat(path.join(caDir, 'ca-key.pem'))).mode & 0o777, 0o600);
    const material = await loadOrCreateCaMaterial({ caDir, trustDomain: TD, logger: silentLogger });
    assert.equal(material.source, 'self-signed');
    running = await start(material, true);
    const after_ = await call(running, { csr: newCsr({ uris: [FRONTEND] }).csrPem });
    assert.equal(after_.certChain[1], before.certChain[1]);
    const result = await opensslVerify(before.certChain[1] ?? '', '', after_.certChain[0] ?? '');
    assert.ok(result.ok, result.output);
  });

  it('includes a plug-in intermediate in the chain, and the chain verifies to the operator root', async () => {
    const pki = createTestPki({ intermediate: true, keyType: 'rsa-2048' });
    await writePluginCaDir(dir, pki);
    running = await start(
      await loadOrCreateCaMaterial({ caDir: dir, trustDomain: TD, logger: silentLogger }),
      true,
    );
    const res = await call(running, { csr: newCsr({ uris: [FRONTEND] }).csrPem });
    assert.equal(res.certChain.length, 3);
    assert.equal(res.certChain[1], pki.intermediate?.certPem);
    assert.equal(res.certChain[2], pki.root.certPem);
    await assertVerifies(res);
    // Without the intermediate, the leaf must not verify: the chain element is needed.
    const alone = await opensslVerify(pki.root.certPem, '', res.certChain[0] ?? '');
    assert.equal(alone.ok, false);
  });

  it('checks the caller before the request: a bad token with bad metadata is UNAUTHENTICATED, a good one INVALID_ARGUMENT', async () => {
    running = await start(
      await loadOrCreateCaMaterial({
        caDir: dir,
        trustDomain: TD,
        keyType: 'ecdsa-p256',
        logger: silentLogger,
      }),
      false,
    );
    const r = running;
    const send = (token: string): Promise<IstioCertificateResponse> => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      const req = create(IstioCertificateRequestSchema, {
        csr: newCsr({ uris: [FRONTEND] }).csrPem,
        metadata: { ImpersonatedIdentity: 42 },
      });
      return new Promise((resolve, reject) =>
        r.client.createCertificate(req, md, { deadline: Date.now() + 10_000 }, (err, res) =>
          err || res === undefined ? reject(err) : resolve(res),
        ),
      );
    };
    await assert.rejects(
      send('not-a-known-token-0123456789'),
      rejectsWith(grpc.status.UNAUTHENTICATED, 'node tokens'),
    );
    await assert.rejects(
      send(NODE1_TOKEN),
      rejectsWith(grpc.status.INVALID_ARGUMENT, 'ImpersonatedIdentity'),
    );
  });

  it('exposes the CA metrics on its registry after real calls', async () => {
    running = await start(
      await loadOrCreateCaMaterial({
        caDir: dir,
        trustDomain: TD,
        keyType: 'ecdsa-p256',
        logger: silentLogger,
      }),
      false,
    );
    await call(running, { csr: newCsr({ uris: [FRONTEND] }).csrPem });
    await assert.rejects(call(running, { csr: newCsr({ uris: [FRONTEND] }).csrPem }, NODE2_TOKEN));
    const text = await running.registry.metrics();
    assert.match(text, /^citadel_server_csr_count 2$/m);
    assert.match(text, /^citadel_server_success_cert_issuance_count 1$/m);
    assert.match(text, /^citadel_server_root_cert_expiry_timestamp \d/m);
  });
});
