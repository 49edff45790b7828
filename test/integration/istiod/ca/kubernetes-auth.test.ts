import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import {
  IstioCertificateRequestSchema,
  type IstioCertificateResponse,
} from '../../../../src/gen/istio/v1/auth/ca_pb.js';
import { CaService, CertificateSigner } from '../../../../src/istiod/ca/index.js';
import {
  KubeConfigRestClient,
  TokenReviewAuthenticator,
} from '../../../../src/istiod/ca/kubernetes/index.js';
import { CaClientCtor, type CaClient } from '../../../support/ca-client.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { createTestPki, newCsr, opensslVerify, staticNodeIdentities } from '../../../support/ca.js';
import { FakeKubeAuthApi } from '../../../support/fake-kube-auth-api.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';
const ZTUNNEL = 'system:serviceaccount:istio-system:ztunnel';

const TOKENS = {
  node1: 'ztunnel-on-node-1-token',
  node2: 'ztunnel-on-node-2-token',
  wrongAudience: 'ztunnel-token-for-the-api-audience',
  untrusted: 'frontend-workload-token',
  unbound: 'ztunnel-legacy-unbound-token',
  replacedPod: 'ztunnel-token-of-a-replaced-pod',
  unknown: 'a-token-the-api-server-never-issued',
};

function rejectsWith(status: grpc.status, mentions: string) {
  return (e: unknown): boolean => {
    const err = e as grpc.ServiceError;
    assert.equal(err.code, status, `${grpc.status[err.code]}: ${err.details}`);
    assert.ok(err.details.includes(mentions), err.details);
    return true;
  };
}

describe('istiod/ca with Kubernetes TokenReview authentication (fake API server, real gRPC over TLS)', function () {
  this.timeout(30_000);
  const pki = createTestPki();
  let api: FakeKubeAuthApi;
  let server: grpc.Server;
  let client: CaClient;
  let authenticator: TokenReviewAuthenticator;
  let registry: Registry;

  beforeEach(async () => {
    api = await FakeKubeAuthApi.start();
    api.addPod({
      namespace: 'istio-system',
      name: 'ztunnel-a',
      uid: 'uid-a',
      nodeName: 'node-1',
      serviceAccountName: 'ztunnel',
    });
    api.addPod({
      namespace: 'istio-system',
      name: 'ztunnel-b',
      uid: 'uid-b',
      nodeName: 'node-2',
      serviceAccountName: 'ztunnel',
    });
    api.addPod({
      namespace: 'demo',
      name: 'frontend-1',
      uid: 'uid-f',
      nodeName: 'node-1',
      serviceAccountName: 'frontend',
    });
    api.addToken(TOKENS.node1, {
      username: ZTUNNEL,
      audiences: ['istio-ca'],
      podName: 'ztunnel-a',
      podUid: 'uid-a',
    });
    api.addToken(TOKENS.node2, {
      username: ZTUNNEL,
      audiences: ['istio-ca'],
      podName: 'ztunnel-b',
      podUid: 'uid-b',
    });
    api.addToken(TOKENS.wrongAudience, {
      username: ZTUNNEL,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      podName: 'ztunnel-a',
      podUid: 'uid-a',
    });
    api.addToken(TOKENS.untrusted, {
      username: 'system:serviceaccount:demo:frontend',
      audiences: ['istio-ca'],
      podName: 'frontend-1',
      podUid: 'uid-f',
    });
    api.addToken(TOKENS.unbound, { username: ZTUNNEL, audiences: ['istio-ca'] });
    api.addToken(TOKENS.replacedPod, {
      username: ZTUNNEL,
      audiences: ['istio-ca'],
      podName: 'ztunnel-a',
      podUid: 'uid-old',
    });

    registry = new Registry();
    authenticator = new TokenReviewAuthenticator({
      client: new KubeConfigRestClient(api.kubeConfig(), { timeoutMs: 2000 }),
      logger: silentLogger,
    });
    const signer = new CertificateSigner(pki.material);
    const ca = new CaService({
      signer,
      authenticator,
      nodeIdentities: staticNodeIdentities({ 'node-1': [FRONTEND], 'node-2': [BACKEND] }),
      registry,
      logger: silentLogger,
    });
    server = new grpc.Server();
    ca.addToServer(server);
    const serving = signer.issueServingCertificate(['istiod.istio-system.svc', '127.0.0.1'], 3600);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createSsl(
          null,
          [{ cert_chain: Buffer.from(serving.chainPem), private_key: Buffer.from(serving.keyPem) }],
          false,
        ),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    client = new CaClientCtor(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(serving.rootPem)), {
      'grpc.ssl_target_name_override': 'istiod.istio-system.svc',
      'grpc.default_authority': 'istiod.istio-system.svc',
    });
  });

  afterEach(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await api.stop();
  });

  function call(token: string, identity: string): Promise<IstioCertificateResponse> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const req = create(IstioCertificateRequestSchema, {
      csr: newCsr({ uris: [identity] }).csrPem,
      validityDuration: 3600n,
      metadata: { ImpersonatedIdentity: identity },
    });
    return new Promise((resolve, reject) => {
      client.createCertificate(req, md, { deadline: Date.now() + 10_000 }, (err, res) =>
        err || res === undefined ? reject(err) : resolve(res),
      );
    });
  }

  it("issues a certificate to the node agent for a workload on its pod's node, after one TokenReview and one Pod read", async () => {
    const res = await call(TOKENS.node1, FRONTEND);
    const leaf = new X509Certificate(res.certChain[0] ?? '');
    assert.equal(leaf.subjectAltName, `URI:${FRONTEND}`);
    const verified = await opensslVerify(
      res.certChain[res.certChain.length - 1] ?? '',
      '',
      res.certChain[0] ?? '',
    );
    assert.ok(verified.ok, verified.output);
    assert.equal(api.count('POST', '/apis/authentication.k8s.io/v1/tokenreviews'), 1);
    assert.equal(api.count('GET', '/api/v1/namespaces/istio-system/pods/ztunnel-a'), 1);
  });

  it('reuses the review for further certificates of the same token (and shares one review among concurrent calls)', async () => {
    await Promise.all([
      call(TOKENS.node1, FRONTEND),
      call(TOKENS.node1, FRONTEND),
      call(TOKENS.node1, FRONTEND),
    ]);
    await call(TOKENS.node1, FRONTEND);
    assert.equal(api.count('POST', '/apis/authentication.k8s.io/v1/tokenreviews'), 1);
    assert.equal(authenticator.cacheSize, 1);
  });

  it('refuses a token for another audience with UNAUTHENTICATED saying the API server did not authenticate it', async () => {
    await assert.rejects(
      call(TOKENS.wrongAudience, FRONTEND),
      rejectsWith(grpc.status.UNAUTHENTICATED, 'is invalid for the target audiences ["istio-ca"]'),
    );
  });

  it('refuses a token the API server does not know with UNAUTHENTICATED, counting the failure', async () => {
    await assert.rejects(
      call(TOKENS.unknown, FRONTEND),
      rejectsWith(grpc.status.UNAUTHENTICATED, 'not authenticated by the API server: invalid bearer token'),
    );
    const failures = await registry.getSingleMetric('citadel_server_authentication_failure_count')?.get();
    assert.equal(failures?.values[0]?.value, 1);
  });

  it('refuses a service account that is not a trusted node agent account with PERMISSION_DENIED', async () => {
    await assert.rejects(
      call(TOKENS.untrusted, FRONTEND),
      rejectsWith(
        grpc.status.PERMISSION_DENIED,
        'service account demo/frontend is not a trusted node agent account',
      ),
    );
  });

  it('refuses a node agent asking for an identity whose pod is on another node with PERMISSION_DENIED', async () => {
    await assert.rejects(
      call(TOKENS.node2, FRONTEND),
      rejectsWith(grpc.status.PERMISSION_DENIED, `node node-2 has no workload with identity ${FRONTEND}`),
    );
    // Its own node's workloads are fine.
    await call(TOKENS.node2, BACKEND);
  });

  it('refuses a token not bound to a pod, and one whose pod was replaced, with PERMISSION_DENIED', async () => {
    await assert.rejects(
      call(TOKENS.unbound, FRONTEND),
      rejectsWith(grpc.status.PERMISSION_DENIED, 'not bound to a pod'),
    );
    await assert.rejects(
      call(TOKENS.replacedPod, FRONTEND),
      rejectsWith(grpc.status.PERMISSION_DENIED, 'has uid uid-a, but the token is bound to uid uid-old'),
    );
  });

  it('refuses a token whose pod is gone with PERMISSION_DENIED', async () => {
    api.deletePod('istio-system', 'ztunnel-b');
    await assert.rejects(
      call(TOKENS.node2, BACKEND),
      rejectsWith(grpc.status.PERMISSION_DENIED, 'no longer exists'),
    );
  });

  it('answers UNAVAILABLE while the API server is down, and keeps serving callers it has already reviewed', async () => {
    await call(TOKENS.node1, FRONTEND);
    await api.stop();
    await assert.rejects(
      call(TOKENS.node2, BACKEND),
      rejectsWith(grpc.status.UNAVAILABLE, 'cannot review the token with the API server'),
    );
    const res = await call(TOKENS.node1, FRONTEND);
    assert.equal(new X509Certificate(res.certChain[0] ?? '').subjectAltName, `URI:${FRONTEND}`);
  });

  it('answers UNAVAILABLE when the API server answers 503', async () => {
    api.failWith = 503;
    await assert.rejects(call(TOKENS.node1, FRONTEND), rejectsWith(grpc.status.UNAVAILABLE, 'HTTP 503'));
  });
});
