import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  IstioCertificateRequestSchema,
  type IstioCertificateResponse,
} from '../../../../src/gen/istio/v1/auth/ca_pb.js';
import type { IstiodConfig } from '../../../../src/istiod/config.js';
import { startIstiod, type RunningIstiod } from '../../../../src/istiod/server.js';
import { CaClientCtor } from '../../../support/ca-client.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { newCsr } from '../../../support/ca.js';
import { FakeKubeApi, type KubeObject } from '../../../support/fake-kube-api.js';
import { testIstiodConfig } from '../../../support/istiod.js';
import { DeltaXdsClient, resourceNames } from '../../../support/xds-client.js';
import { ADDRESS_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { xdsCredentials } from '../xds/credentials.js';

const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const ZTUNNEL_TOKEN = 'projected-token-of-ztunnel-a';
/** A real token of an ordinary workload (demo/frontend), not of a node agent. */
const FRONTEND_TOKEN = 'projected-token-of-frontend-1';

function pod(ns: string, name: string, sa: string, ip: string, node: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${name}`, labels: { app: sa } },
    spec: { nodeName: node, serviceAccountName: sa, containers: [{ name: sa, image: `${sa}:v1` }] },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

describe('istiod --kubernetes security: CA root in a Secret, TokenReview callers, root ConfigMaps, webhook (fake API server)', function () {
  this.timeout(30_000);
  let work = '';
  let api: FakeKubeApi;
  let istiod: RunningIstiod | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ambit-istiod-kube-sec-'));
    api = await FakeKubeApi.start();
    api.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'demo', labels: { 'istio.io/dataplane-mode': 'ambient' } },
    });
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    api.apply({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'frontend', namespace: 'demo' },
    });
    api.apply(pod('demo', 'frontend-1', 'frontend', '10.244.1.11', 'node-1'));
    api.apply(pod('istio-system', 'ztunnel-a', 'ztunnel', '10.244.1.2', 'node-1'));
    api.handle('POST', '/apis/authentication.k8s.io/v1/tokenreviews', (_req, _res, ctx) => {
      const review = JSON.parse(ctx.body.toString('utf8')) as {
        spec: { token: string; audiences: string[] };
      };
      const audience = review.spec.audiences.includes('istio-ca');
      const who =
        review.spec.token === ZTUNNEL_TOKEN
          ? { sa: 'istio-system:ztunnel', pod: 'ztunnel-a' }
          : review.spec.token === FRONTEND_TOKEN
            ? { sa: 'demo:frontend', pod: 'frontend-1' }
            : undefined;
      ctx.json(201, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        status:
          audience && who !== undefined
            ? {
                authenticated: true,
                audiences: ['istio-ca'],
                user: {
                  username: `system:serviceaccount:${who.sa}`,
                  extra: {
                    'authentication.kubernetes.io/pod-name': [who.pod],
                    'authentication.kubernetes.io/pod-uid': [`uid-${who.pod}`],
                  },
                },
              }
            : { authenticated: false, error: 'invalid bearer token' },
      });
    });
  });

  after(async () => {
    await istiod?.stop();
    await api?.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function config(): Promise<IstiodConfig> {
    return testIstiodConfig({
      kubernetes: { kubeconfig: await api.writeKubeconfig(work) },
      caDir: join(work, 'unused-ca-dir'),
      webhookAddr: { host: '127.0.0.1', port: 0 },
    });
  }

  function secretRoot(): string {
    const data = api.get('Secret', 'istio-system', 'istio-ca-secret')?.['data'] as
      Record<string, string> | undefined;
    return Buffer.from(data?.['ca-cert.pem'] ?? '', 'base64').toString('utf8');
  }

  it('creates istio-ca-secret and publishes its root to the namespaces', async () => {
    istiod = await startIstiod(await config(), silentLogger);
    assert.equal(secretRoot(), istiod.rootPem);
    const cm = api.get('ConfigMap', 'demo', 'istio-ca-root-cert')?.['data'] as
      Record<string, string> | undefined;
    assert.equal(cm?.['root-cert.pem'], istiod.rootPem);
    assert.equal(api.get('Secret', 'istio-system', 'cacerts'), undefined);
  });

  it('issues a workload certificate on 15012 to the node agent authenticated by TokenReview', async () => {
    const running = istiod as RunningIstiod;
    const client = new CaClientCtor(
      `127.0.0.1:${running.ports.secureGrpc}`,
      grpc.credentials.createSsl(Buffer.from(running.rootPem)),
      {
        'grpc.ssl_target_name_override': 'istiod.istio-system.svc',
      },
    );
    try {
      const call = (token: string): Promise<IstioCertificateResponse> => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${token}`);
        const req = create(IstioCertificateRequestSchema, {
          csr: newCsr({ uris: [FRONTEND] }).csrPem,
          metadata: { ImpersonatedIdentity: FRONTEND },
        });
        return new Promise((resolve, reject) =>
          client.createCertificate(req, md, { deadline: Date.now() + 10_000 }, (err, res) =>
            err || res === undefined ? reject(err) : resolve(res),
          ),
        );
      };
      const res = await call(ZTUNNEL_TOKEN);
      assert.equal(new X509Certificate(res.certChain[0] ?? '').subjectAltName, `URI:${FRONTEND}`);
      await assert.rejects(
        call('some-other-token'),
        (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED,
      );
    } finally {
      client.close();
    }
  });

  it('authenticates xDS on 15012 with TokenReview: the node agent as its pod\'s node; a bad token, an impostor node and a workload\'s token refused', async () => {
    const running = istiod as RunningIstiod;
    const stream = (token: string, nodeName: string): DeltaXdsClient => {
      const c = new DeltaXdsClient(`127.0.0.1:${running.ports.secureGrpc}`, {
        nodeName,
        credentials: xdsCredentials({ rootPem: running.rootPem, token }),
        channelOptions: { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' },
      });
      c.subscribe(ADDRESS_TYPE_URL);
      return c;
    };
    const ok = stream(ZTUNNEL_TOKEN, 'node-1');
    const unknown = stream('some-other-token', 'node-1');
    const impostor = stream(ZTUNNEL_TOKEN, 'node-2');
    const workload = stream(FRONTEND_TOKEN, 'node-1');
    try {
      assert.ok(resourceNames(await ok.next(10_000)).includes('Kubernetes//Pod/demo/frontend-1'));
      const ends = await Promise.all([unknown, impostor, workload].map((c) => c.waitEnd(10_000)));
      assert.deepEqual(
        ends.map((e) => e.code),
        [grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED],
        ends.map((e) => e.details).join(' | '),
      );
      assert.match(ends[0]?.details ?? '', /not authenticated by the API server/);
      assert.match(ends[1]?.details ?? '', /node node-1's.*node node-2/);
      assert.match(ends[2]?.details ?? '', /demo\/frontend is not a trusted node agent account/);
    } finally {
      for (const c of [ok, unknown, impostor, workload]) c.close();
    }
  });

  it('serves the webhook over HTTPS with a certificate from the mesh root', async () => {
    const running = istiod as RunningIstiod;
    assert.ok(running.ports.webhook !== undefined);
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'uid-1',
        operation: 'CREATE',
        resource: { group: 'security.istio.io', version: 'v1', resource: 'peerauthentications' },
        namespace: 'demo',
        object: {
          apiVersion: 'security.istio.io/v1',
          kind: 'PeerAuthentication',
          metadata: { name: 'strict', namespace: 'demo' },
          spec: { mtls: { mode: 'SOMETIMES' } },
        },
      },
    });
    const answer = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: running.ports.webhook,
          path: '/validate',
          method: 'POST',
          ca: running.rootPem,
          servername: 'istiod.istio-system.svc',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const response = (
      JSON.parse(answer) as { response: { uid: string; allowed: boolean; status: { message: string } } }
    ).response;
    assert.equal(response.uid, 'uid-1');
    assert.equal(response.allowed, false);
    assert.ok(response.status.message.includes('spec.mtls.mode'), response.status.message);
    const metrics = await (await fetch(`http://127.0.0.1:${running.ports.monitoring}/metrics`)).text();
    assert.match(
      metrics,
      /galley_validation_failed\{group="security.istio.io",version="v1",resource="peerauthentications",reason="invalid_resource"\} 1/,
    );
  });

  it('a restarted istiod reuses the root kept in the Secret', async () => {
    const before = (istiod as RunningIstiod).rootPem;
    await istiod?.stop();
    istiod = undefined;
    istiod = await startIstiod(await config(), silentLogger);
    assert.equal(istiod.rootPem, before);
  });
});
