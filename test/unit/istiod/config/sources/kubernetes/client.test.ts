import assert from 'node:assert/strict';
import { statusError } from '../../../../../../src/istiod/config/sources/kubernetes/client.js';

describe('kubernetes source client status errors', () => {
  const cases = [
    {
      name: '410 with an Expired Status',
      status: 410,
      body: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 5 (9)' },
      code: 'KUBE_GONE',
      message: 'GET /api/v1/pods: HTTP 410 (Expired: too old resource version: 5 (9))',
    },
    {
      name: '403 with a Forbidden Status',
      status: 403,
      body: { kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods is forbidden' },
      code: 'KUBE_REQUEST_FAILED',
      message: 'GET /api/v1/pods: HTTP 403 (Forbidden: pods is forbidden)',
    },
    { name: '502 with an HTML page', status: 502, body: '<html>bad gateway</html>', code: 'KUBE_REQUEST_FAILED', message: 'GET /api/v1/pods: HTTP 502' },
  ];
  for (const c of cases) {
    it(`${c.name} becomes ${c.code}`, () => {
      const err = statusError('/api/v1/pods', c.status, Buffer.from(typeof c.body === 'string' ? c.body : JSON.stringify(c.body)));
      assert.equal(err.code, c.code);
      assert.equal(err.statusCode, c.status);
      assert.equal(err.message, c.message);
    });
  }
});
