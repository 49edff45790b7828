import assert from 'node:assert/strict';
import { acceptsGzip } from '../../../../src/ztunnel/admin/index.js';

describe('stats server content negotiation', () => {
  const cases: { header: string | undefined; want: boolean }[] = [
    { header: undefined, want: false },
    { header: '', want: false },
    { header: 'gzip', want: true },
    { header: 'identity', want: false },
    { header: 'gzip, deflate, br', want: true },
    { header: 'deflate, GZIP;q=0.5', want: true },
    { header: 'gzip;q=0', want: false },
    { header: 'gzip;q=0.0, identity', want: false },
    { header: '*', want: true },
    { header: 'br, *;q=0', want: false },
  ];
  for (const c of cases) {
    it(`Accept-Encoding ${JSON.stringify(c.header)}: gzip ${c.want ? 'used' : 'not used'}`, () => {
      assert.equal(acceptsGzip(c.header), c.want);
    });
  }
});
