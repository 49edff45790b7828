import assert from 'node:assert/strict';
import https from 'node:https';
import { Registry } from 'prom-client';
import { MAX_ADMISSION_BODY_BYTES, WebhookServer } from '../../../../src/istiod/webhook/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { createTestPki } from '../../../support/ca.js';

const SERVICE_NAME = 'istiod.istio-system.svc';

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

const RESOURCE = { group: 'security.istio.io', version: 'v1', resource: 'authorizationpolicies' };

function admissionReview(uid: string, operation: string, object?: unknown): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'security.istio.io', version: 'v1', kind: 'AuthorizationPolicy' },
      resource: RESOURCE,
      requestKind: { group: 'security.istio.io', version: 'v1', kind: 'AuthorizationPolicy' },
      requestResource: RESOURCE,
      name: 'allow-frontend',
      namespace: 'demo',
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      ...(object === undefined ? {} : { object }),
      oldObject: null,
      dryRun: false,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: operation === 'DELETE' ? 'DeleteOptions' : 'CreateOptions',
      },
    },
  };
}

function policy(spec: unknown): unknown {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: {
      name: 'allow-frontend',
      namespace: 'demo',
      uid: '8d3b6f0e-2c51-4f0a-9b7e-1f3c2d4e5a6b',
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      managedFields: [
        { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'security.istio.io/v1' },
      ],
    },
    spec,
  };
}

describe('istiod/webhook over HTTPS with AdmissionReview bodies', function () {
  this.timeout(20_000);
  const pki = createTestPki();
  let server: WebhookServer;
  let registry: Registry;
  let port = 0;

  beforeEach(async () => {
    const cred = pki.issueServing([SERVICE_NAME, '127.0.0.1']);
    registry = new Registry();
    server = new WebhookServer({
      host: '127.0.0.1',
      port: 0,
      certChainPem: cred.chainPem,
      keyPem: cred.keyPem,
      registry,
      logger: silentLogger,
    });
    port = await server.listen();
  });
  afterEach(async () => {
    await server.close();
  });

  function send(
    path: string,
    body: string | Buffer | undefined,
    options: { method?: string; contentType?: string } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: options.method ?? 'POST',
          ca: pki.rootPem,
          servername: SERVICE_NAME,
          headers: { 'content-type': options.contentType ?? 'application/json' },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    const metric = await registry.getSingleMetric(name)?.get();
    const v = metric?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return v?.value ?? 0;
  }

  function responseOf(a: Answer): {
    uid: string;
    allowed: boolean;
    status?: { message: string; code: number };
  } {
    assert.equal(a.status, 200, a.text);
    assert.equal(a.contentType, 'application/json');
    const parsed = JSON.parse(a.text) as { apiVersion: string; kind: string; response: never };
    assert.equal(parsed.apiVersion, 'admission.k8s.io/v1');
    assert.equal(parsed.kind, 'AdmissionReview');
    return parsed.response;
  }

  it('allows a valid AuthorizationPolicy, echoing the uid, and counts galley_validation_passed', async () => {
    const spec = {
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/demo/sa/frontend'] } }] }],
    };
    const res = responseOf(
      await send('/validate', JSON.stringify(admissionReview('uid-allowed', 'CREATE', policy(spec)))),
    );
    assert.deepEqual(res, { uid: 'uid-allowed', allowed: true });
    assert.equal(await counter('galley_validation_passed', RESOURCE), 1);
  });

  it('denies an invalid one with every field path in status.message, and counts galley_validation_failed', async () => {
    const spec = { action: 'NOPE', rules: [{ to: [{ operation: { ports: ['http'] } }] }] };
    const res = responseOf(
      await send('/validate', JSON.stringify(admissionReview('uid-denied', 'UPDATE', policy(spec)))),
    );
    assert.equal(res.uid, 'uid-denied');
    assert.equal(res.allowed, false);
    assert.equal(res.status?.code, 400);
    const message = res.status?.message ?? '';
    assert.ok(message.startsWith('AuthorizationPolicy demo/allow-frontend is invalid: '), message);
    assert.ok(message.includes('spec.action: '), message);
    assert.ok(message.includes('spec.rules[0].to[0].operation.ports[0]: '), message);
    assert.equal(await counter('galley_validation_failed', { ...RESOURCE, reason: 'invalid_resource' }), 1);
  });

  it('allows a DELETE without looking at the object', async () => {
    const res = responseOf(await send('/validate', JSON.stringify(admissionReview('uid-delete', 'DELETE'))));
    assert.deepEqual(res, { uid: 'uid-delete', allowed: true });
  });

  it('answers on /validate/<anything> and ignores the query the API server adds', async () => {
    const res = responseOf(
      await send(
        '/validate/security?timeout=10s',
        JSON.stringify(admissionReview('uid-sub', 'CREATE', policy({}))),
      ),
    );
    assert.equal(res.allowed, true);
  });

  const badRequests: { name: string; body: string; status: number; mentions: string }[] = [
    {
      name: 'a body that is not JSON',
      body: '{"apiVersion": ',
      status: 400,
      mentions: 'could not decode body: not JSON',
    },
    {
      name: 'an AdmissionReview without request',
      body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      status: 400,
      mentions: 'request: an AdmissionReview must carry a request object',
    },
    {
      name: 'a request without uid',
      body: JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { operation: 'CREATE', object: {} },
      }),
      status: 400,
      mentions: 'request.uid',
    },
    { name: 'an empty body', body: '', status: 400, mentions: 'no body found' },
  ];
  for (const c of badRequests) {
    it(`answers ${c.name} with HTTP ${c.status} and a clear message, counted in galley_validation_http_error`, async () => {
      const a = await send('/validate', c.body);
      assert.equal(a.status, c.status);
      assert.ok(a.contentType.startsWith('text/plain'), a.contentType);
      assert.ok(a.text.includes(c.mentions), a.text);
      assert.equal(await counter('galley_validation_http_error', { status: String(c.status) }), 1);
    });
  }

  it('answers a wrong content type with 415', async () => {
    const a = await send('/validate', JSON.stringify(admissionReview('u', 'CREATE', policy({}))), {
      contentType: 'application/yaml',
    });
    assert.equal(a.status, 415);
    assert.ok(a.text.includes('want application/json'), a.text);
    assert.equal(await counter('galley_validation_http_error', { status: '415' }), 1);
  });

  it('accepts application/json with a charset parameter', async () => {
    const a = await send('/validate', JSON.stringify(admissionReview('u', 'CREATE', policy({}))), {
      contentType: 'application/json; charset=utf-8',
    });
    assert.equal(responseOf(a).allowed, true);
  });

  it('answers a body over the limit with 413', async () => {
    const a = await send('/validate', Buffer.alloc(MAX_ADMISSION_BODY_BYTES + 1, 0x20));
    assert.equal(a.status, 413);
  });

  const others: { name: string; path: string; method: string; status: number }[] = [
    { name: 'GET /ready', path: '/ready', method: 'GET', status: 200 },
    { name: 'GET /validate', path: '/validate', method: 'GET', status: 405 },
    { name: 'POST /mutate', path: '/mutate', method: 'POST', status: 404 },
  ];
  for (const c of others) {
    it(`answers ${c.name} with ${c.status}`, async () => {
      const a = await send(c.path, c.method === 'GET' ? undefined : '{}', { method: c.method });
      assert.equal(a.status, c.status, a.text);
    });
  }

  it('refuses a second listener on the same port with WEBHOOK_LISTEN_FAILED', async () => {
    const cred = pki.issueServing(['127.0.0.1']);
    const other = new WebhookServer({
      host: '127.0.0.1',
      port,
      certChainPem: cred.chainPem,
      keyPem: cred.keyPem,
      registry: new Registry(),
      logger: silentLogger,
    });
    await assert.rejects(
      other.listen(),
      (e: unknown) => (e as { code?: string }).code === 'WEBHOOK_LISTEN_FAILED',
    );
    await other.close();
  });
});
