import assert from 'node:assert/strict';
import {
  admissionResponse,
  admit,
  decodeAdmissionReview,
  WebhookError,
  type AdmissionRequest,
} from '../../../../src/istiod/webhook/index.js';

function review(
  request: Record<string, unknown>,
  apiVersion = 'admission.k8s.io/v1',
): Record<string, unknown> {
  return { apiVersion, kind: 'AdmissionReview', request };
}

const RESOURCE = { group: 'security.istio.io', version: 'v1', resource: 'authorizationpolicies' };

function policy(
  spec: unknown,
  metadata: Record<string, unknown> = { name: 'p', namespace: 'demo' },
): unknown {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata, spec };
}

function request(fields: Partial<AdmissionRequest>): AdmissionRequest {
  return {
    apiVersion: 'admission.k8s.io/v1',
    uid: 'uid-1',
    operation: 'CREATE',
    resource: RESOURCE,
    name: '',
    namespace: 'demo',
    object: undefined,
    ...fields,
  };
}

describe('istiod/webhook/admission', () => {
  describe('decodeAdmissionReview', () => {
    it('decodes uid, operation, resource, name, namespace and object', () => {
      const object = policy({});
      const r = decodeAdmissionReview(
        review({
          uid: 'abc',
          operation: 'UPDATE',
          resource: RESOURCE,
          name: 'p',
          namespace: 'demo',
          object,
          oldObject: object,
        }),
      );
      assert.deepEqual(r, {
        apiVersion: 'admission.k8s.io/v1',
        uid: 'abc',
        operation: 'UPDATE',
        resource: RESOURCE,
        name: 'p',
        namespace: 'demo',
        object,
      });
    });

    const malformed: { name: string; body: unknown; mentions: string }[] = [
      { name: 'a JSON array', body: [], mentions: 'must be a JSON AdmissionReview object' },
      {
        name: 'another apiVersion',
        body: review({ uid: 'a', operation: 'CREATE', object: {} }, 'v1'),
        mentions: 'apiVersion: "v1"',
      },
      {
        name: 'another kind',
        body: { apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: {} },
        mentions: 'kind: "Pod"',
      },
      {
        name: 'no request',
        body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
        mentions: 'request:',
      },
      { name: 'no uid', body: review({ operation: 'CREATE', object: {} }), mentions: 'request.uid' },
      {
        name: 'an unknown operation',
        body: review({ uid: 'a', operation: 'PATCH', object: {} }),
        mentions: 'request.operation: "PATCH"',
      },
      {
        name: 'a CREATE without object',
        body: review({ uid: 'a', operation: 'CREATE' }),
        mentions: 'request.object: required for CREATE',
      },
      {
        name: 'a non-string namespace',
        body: review({ uid: 'a', operation: 'DELETE', namespace: 7 }),
        mentions: 'request.namespace',
      },
      {
        name: 'a resource that is not an object',
        body: review({ uid: 'a', operation: 'DELETE', resource: 'x' }),
        mentions: 'request.resource',
      },
    ];
    for (const c of malformed) {
      it(`refuses ${c.name} with WEBHOOK_BAD_REQUEST`, () => {
        assert.throws(
          () => decodeAdmissionReview(c.body),
          (e: unknown) =>
            e instanceof WebhookError && e.code === 'WEBHOOK_BAD_REQUEST' && e.message.includes(c.mentions),
        );
      });
    }

    it('accepts admission.k8s.io/v1beta1 too, and a DELETE without object', () => {
      const r = decodeAdmissionReview(review({ uid: 'a', operation: 'DELETE' }, 'admission.k8s.io/v1beta1'));
      assert.equal(r.operation, 'DELETE');
      assert.equal(r.object, undefined);
    });
  });

  describe('admit', () => {
    const cases: {
      name: string;
      req: Partial<AdmissionRequest>;
      want: string;
      reason?: string;
      mentions?: string[];
    }[] = [
      {
        name: 'a valid AuthorizationPolicy with server-set metadata',
        req: {
          object: policy(
            { action: 'ALLOW', rules: [{ to: [{ operation: { ports: ['8080'] } }] }] },
            {
              name: 'p',
              namespace: 'demo',
              uid: 'u',
              resourceVersion: '9',
              generation: 2,
              managedFields: [{ manager: 'kubectl' }],
            },
          ),
        },
        want: 'allowed',
      },
      {
        name: 'an invalid AuthorizationPolicy',
        req: { object: policy({ action: 'NOPE', rules: [{ to: [{ operation: { ports: ['abc'] } }] }] }) },
        want: 'denied',
        reason: 'invalid_resource',
        mentions: [
          'AuthorizationPolicy demo/p is invalid',
          'spec.action:',
          'spec.rules[0].to[0].operation.ports[0]:',
        ],
      },
      {
        name: 'an unknown kind',
        req: { object: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } } },
        want: 'denied',
        reason: 'unknown_type',
        mentions: ['kind: unsupported kind "Widget"'],
      },
      {
        name: 'an object that is not a mapping',
        req: { object: 'text' },
        want: 'denied',
        reason: 'yaml_decode_error',
      },
      {
        name: 'a DELETE of anything',
        req: { operation: 'DELETE', object: undefined },
        want: 'not-validated',
      },
      { name: 'a CONNECT', req: { operation: 'CONNECT', object: {} }, want: 'not-validated' },
      {
        name: 'an object without namespace or name, taken from the request',
        req: { name: 'from-request', namespace: 'demo', object: policy({}, {}) },
        want: 'allowed',
      },
      {
        name: 'an object with only generateName',
        req: { object: policy({}, { generateName: 'gen-' }) },
        want: 'allowed',
      },
      {
        name: 'an object whose namespace in the request is not a DNS label',
        req: { namespace: 'Bad_NS', object: policy({}, { name: 'p' }) },
        want: 'denied',
        reason: 'invalid_resource',
        mentions: ['metadata.namespace:'],
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.want}`, () => {
        const verdict = admit(request(c.req));
        assert.equal(verdict.kind, c.want, JSON.stringify(verdict));
        if (verdict.kind === 'denied') {
          assert.equal(verdict.reason, c.reason);
          for (const m of c.mentions ?? []) assert.ok(verdict.message.includes(m), verdict.message);
        }
      });
    }
  });

  describe('admissionResponse', () => {
    it('echoes uid and apiVersion and allows without a status', () => {
      const req = request({ uid: 'echo-me', apiVersion: 'admission.k8s.io/v1beta1' });
      assert.deepEqual(admissionResponse(req, { kind: 'allowed' }), {
        apiVersion: 'admission.k8s.io/v1beta1',
        kind: 'AdmissionReview',
        response: { uid: 'echo-me', allowed: true },
      });
      assert.equal(
        (
          admissionResponse(req, { kind: 'not-validated', reason: 'unsupported_operation' })['response'] as {
            allowed: boolean;
          }
        ).allowed,
        true,
      );
    });

    it('denies with status code 400 and the message', () => {
      const res = admissionResponse(request({}), {
        kind: 'denied',
        reason: 'invalid_resource',
        message: 'x is invalid: spec.a: bad',
        errors: [{ path: 'spec.a', message: 'bad' }],
      });
      assert.deepEqual(res['response'], {
        uid: 'uid-1',
        allowed: false,
        status: { code: 400, reason: 'Invalid', message: 'x is invalid: spec.a: bad' },
      });
    });
  });
});
