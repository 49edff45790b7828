/**
 * xDS authentication and authorization on istiod's TLS port (15012), over
 * real gRPC and TLS on 127.0.0.1 against a real istiod in file mode (the
 * sample mesh: frontend on node-1, backend on node-2; node tokens for both).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { IstioCertificateRequestSchema, type IstioCertificateResponse } from '../../../../src/gen/istio/v1/auth/ca_pb.js';
import { DEFAULT_GRPC_ADDR, parseHostPort } from '../../../../src/istiod/config.js';
import { startIstiod, type RunningIstiod } from '../../../../src/istiod/server.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { WorkloadStore } from '../../../../src/ztunnel/state/index.js';
import { XdsClient } from '../../../../src/ztunnel/xds/index.js';
import { CaClientCtor } from '../../../support/ca-client.js';
import { createTestPki, newCsr } from '../../../support/ca.js';
import { testIstiodConfig } from '../../../support/istiod.js';
import { DeltaXdsClient, SotwXdsClient, resourceNames, type TestClientOptions } from '../../../support/xds-client.js';
import { metricValue } from './harness.js';
import { xdsCredentials, type XdsCallerCredentials } from './credentials.js';

const NODE_ONE_TOKEN = 'node-one-token-0123456789';
const NODE_TWO_TOKEN = 'node-two-token-0123456789';
const SERVER_NAME = 'istiod.istio-system.svc';
const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';
const FRONTEND_SIDECAR = 'sidecar~10.244.1.10~frontend-7d4b9c-abcde.demo~demo.svc.cluster.local';

describe('xds authentication on the TLS port (real istiod, file mode)', function () {
  this.timeout(30_000);
  let work = '';
  let istiod: RunningIstiod;
  const clients: { close(): void }[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'a9x-xds-auth-'));
    await cp(new URL('../../../../examples/mesh', import.meta.url).pathname, join(work, 'config'), { recursive: true });
    await writeFile(
      join(work, 'tokens.yaml'),
      `tokens:\n  - {token: ${NODE_ONE_TOKEN}, node: node-1}\n  - {token: ${NODE_TWO_TOKEN}, node: node-2}\n`,
    );
    istiod = await startIstiod(
      testIstiodConfig({ configDir: join(work, 'config'), caDir: join(work, 'ca'), tokensFile: join(work, 'tokens.yaml') }),
      silentLogger,
    );
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  after(async () => {
    await istiod?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const secure = (creds: Omit<XdsCallerCredentials, 'rootPem'>, o: TestClientOptions = {}): TestClientOptions => ({
    ...o,
    credentials: xdsCredentials({ rootPem: istiod.rootPem, ...creds }),
    channelOptions: { 'grpc.ssl_target_name_override': SERVER_NAME },
  });
  const delta = (o: TestClientOptions): DeltaXdsClient => {
    const c = new DeltaXdsClient(`127.0.0.1:${istiod.ports.secureGrpc}`, o);
    clients.push(c);
    return c;
  };
  const sotw = (o: TestClientOptions): SotwXdsClient => {
    const c = new SotwXdsClient(`127.0.0.1:${istiod.ports.secureGrpc}`, o);
    clients.push(c);
    return c;
  };
  const failures = (reason: string): Promise<number> =>
    metricValue(istiod.registry, 'pilot_xds_auth_failures', { reason });

  /** A workload certificate from istiod's own CA (asked for by node-1's agent), with its key. */
  async function workloadCertificate(identity: string, token: string): Promise<{ chainPem: string; keyPem: string }> {
    const client = new CaClientCtor(
      `127.0.0.1:${istiod.ports.secureGrpc}`,
      grpc.credentials.createSsl(Buffer.from(istiod.rootPem)),
      { 'grpc.ssl_target_name_override': SERVER_NAME },
    );
    const csr = newCsr({ uris: [identity] });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const req = create(IstioCertificateRequestSchema, { csr: csr.csrPem, metadata: { ImpersonatedIdentity: identity } });
    try {
      const res = await new Promise<IstioCertificateResponse>((resolve, reject) =>
        client.createCertificate(req, md, { deadline: Date.now() + 10_000 }, (err, r) =>
          err || r === undefined ? reject(err) : resolve(r),
        ),
      );
      // The leaf and intermediates; the root bundle (last) is not part of what a client presents.
      return { chainPem: res.certChain.slice(0, -1).join(''), keyPem: csr.key.export({ format: 'pem', type: 'pkcs8' }).toString() };
    } finally {
      client.close();
    }
  }

  const unauthenticated: { name: string; creds: Omit<XdsCallerCredentials, 'rootPem'>; detail: RegExp }[] = [
    { name: 'no token and no certificate', creds: {}, detail: /no authorization metadata.*none that chains to the mesh root/ },
    { name: 'a token that is no node token', creds: { token: 'not-a-node-token-000000000' }, detail: /not one of the node tokens/ },
    { name: 'an authorization value that is not a bearer token', creds: { authorization: `Basic ${NODE_ONE_TOKEN}` }, detail: /not of the form "Bearer/ },
    { name: 'a bearer value of several words', creds: { authorization: `Bearer ${NODE_ONE_TOKEN} extra` }, detail: /not of the form "Bearer/ },
  ];
  for (const c of unauthenticated) {
    it(`ends delta and SotW streams with ${c.name} with UNAUTHENTICATED, before any resource`, async () => {
      const before = await failures('unauthenticated');
      const d = delta(secure(c.creds, { nodeName: 'node-1' }));
      d.subscribe(ADDRESS_TYPE_URL);
      const s = sotw(secure(c.creds, { nodeName: 'node-1' }));
      s.request(ADDRESS_TYPE_URL);
      for (const end of [await d.waitEnd(5000), await s.waitEnd(5000)]) {
        assert.equal(end.code, grpc.status.UNAUTHENTICATED, end.details);
        assert.match(end.details, /^authentication failure: /);
        assert.match(end.details, c.detail);
      }
      assert.equal(d.queued + s.queued, 0, 'nothing was served');
      assert.equal(await failures('unauthenticated'), before + 2);
    });
  }

  it('ends the stream with UNAUTHENTICATED for a client certificate from another CA', async () => {
    const other = createTestPki().issueWorkload(FRONTEND);
    const d = delta(secure({ client: { chainPem: other.chainPem, keyPem: other.keyPem } }, { nodeId: FRONTEND_SIDECAR }));
    d.subscribe(ADDRESS_TYPE_URL);
    const end = await d.waitEnd(5000);
    assert.equal(end.code, grpc.status.UNAUTHENTICATED, end.details);
    assert.match(end.details, /client certificate: none that chains to the mesh root/);
  });

  it("serves node-1's agent, with its node token, the ztunnel types over delta and SotW", async () => {
    const d = delta(secure({ token: NODE_ONE_TOKEN }, { nodeName: 'node-1' }));
    d.subscribe(ADDRESS_TYPE_URL);
    const addresses = await d.next(5000);
    d.ack(addresses);
    assert.ok(resourceNames(addresses).includes('Kubernetes//Pod/demo/frontend-7d4b9c-abcde'));
    d.subscribe(AUTHORIZATION_TYPE_URL);
    assert.ok(resourceNames(await d.next(5000)).includes('demo/backend-allow-frontend'));

    const s = sotw(secure({ token: NODE_TWO_TOKEN }, { nodeName: 'node-2' }));
    s.request(ADDRESS_TYPE_URL);
    assert.equal((await s.next(5000)).resources.length, 4);
  });

  const impostors: { name: string; token: string; options: TestClientOptions; detail: RegExp }[] = [
    { name: "node-1's token naming node-2", token: NODE_ONE_TOKEN, options: { nodeName: 'node-2' }, detail: /node node-1's.*node node-2 in metadata NODE_NAME/ },
    {
      name: "node-1's token naming no node",
      token: NODE_ONE_TOKEN,
      options: { nodeId: 'ztunnel~10.0.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local', metadata: { NODE_NAME: null } },
      detail: /NODE_NAME is missing/,
    },
  ];
  for (const c of impostors) {
    it(`ends the stream of ${c.name} with PERMISSION_DENIED`, async () => {
      const before = await failures('permission_denied');
      const d = delta(secure({ token: c.token }, c.options));
      d.subscribe(ADDRESS_TYPE_URL);
      const end = await d.waitEnd(5000);
      assert.equal(end.code, grpc.status.PERMISSION_DENIED, end.details);
      assert.match(end.details, /^authorization failed: /);
      assert.match(end.details, c.detail);
      assert.equal(d.queued, 0);
      assert.equal(await failures('permission_denied'), before + 1);
    });
  }

  it("keeps refusing node-1's token at the CA for node-2's workload identity", async () => {
    await assert.rejects(
      workloadCertificate(BACKEND, NODE_ONE_TOKEN),
      (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED && /node node-1 has no workload/.test(err.details),
    );
  });

  describe('a workload identity (client certificate from the mesh CA)', () => {
    let frontend: { chainPem: string; keyPem: string };
    before(async () => {
      frontend = await workloadCertificate(FRONTEND, NODE_ONE_TOKEN);
    });

    it('authenticates, but may not connect as ztunnel', async () => {
      const d = delta(secure({ client: frontend }, { nodeName: 'node-1' }));
      d.subscribe(ADDRESS_TYPE_URL);
      const end = await d.waitEnd(5000);
      assert.equal(end.code, grpc.status.PERMISSION_DENIED, end.details);
      assert.match(end.details, new RegExp(`${FRONTEND} is not a node agent, so it may not connect as ztunnel`));
    });

    for (const typeUrl of [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]) {
      it(`is refused ${typeUrl.split('/')[1]} as its own sidecar, with PERMISSION_DENIED naming the type`, async () => {
        const d = delta(secure({ client: frontend }, { nodeId: FRONTEND_SIDECAR }));
        d.subscribe(typeUrl);
        const end = await d.waitEnd(5000);
        assert.equal(end.code, grpc.status.PERMISSION_DENIED, end.details);
        assert.match(end.details, /is served only to node agents; workload identity spiffe:\/\/cluster.local\/ns\/demo\/sa\/frontend is not one/);
        assert.equal(d.queued, 0);
      });
    }

    it("may not name another namespace's proxy (istiod's identity check)", async () => {
      const d = delta(secure({ client: frontend }, { nodeId: 'sidecar~10.244.2.10~backend-x.other~other.svc.cluster.local' }));
      d.subscribe(ADDRESS_TYPE_URL);
      const end = await d.waitEnd(5000);
      assert.equal(end.code, grpc.status.PERMISSION_DENIED, end.details);
      assert.match(end.details, /does not match node .* \(namespace other\)/);
    });
  });

  it("the node agent's own xDS client sends its token and syncs on 15012; with another node's token it gets nothing", async () => {
    const agent = { ip: '10.0.1.2', podName: 'ztunnel-a9x', podNamespace: 'istio-system', nodeName: 'node-1' };
    const good = new XdsClient({
      address: `127.0.0.1:${istiod.ports.secureGrpc}`,
      tls: { rootPem: istiod.rootPem, serverName: SERVER_NAME },
      token: NODE_ONE_TOKEN,
      agent,
      store: new WorkloadStore('node-1'),
      registry: new Registry(),
      logger: silentLogger,
    });
    clients.push(good);
    good.start();
    await good.waitForInitialSync(10_000);
    assert.equal(good.status().connected, true);

    const before = await failures('permission_denied');
    const store = new WorkloadStore('node-1');
    const wrong = new XdsClient({
      address: `127.0.0.1:${istiod.ports.secureGrpc}`,
      tls: { rootPem: istiod.rootPem, serverName: SERVER_NAME },
      token: NODE_TWO_TOKEN,
      agent,
      store,
      registry: new Registry(),
      logger: silentLogger,
      backoff: { initialMs: 10_000, maxMs: 10_000 },
    });
    clients.push(wrong);
    wrong.start();
    await assert.rejects(wrong.waitForInitialSync(1500));
    assert.ok((await failures('permission_denied')) > before, 'istiod counted the refused stream');
    assert.equal(store.snapshot().workloads.length, 0, 'the impostor received no workload');
  });

  it('serves the loopback plaintext port without credentials (istiod 15010), and binds it to 127.0.0.1 by default', async () => {
    assert.equal(parseHostPort('--grpc-addr', DEFAULT_GRPC_ADDR).host, '127.0.0.1');
    assert.equal(parseHostPort('--grpc-addr', DEFAULT_GRPC_ADDR).port, 15010);
    const plain = new DeltaXdsClient(`127.0.0.1:${istiod.ports.grpc}`, { nodeName: 'any-node' });
    clients.push(plain);
    plain.subscribe(ADDRESS_TYPE_URL);
    assert.equal((await plain.next(5000)).resources.length, 4);
  });
});
