import assert from 'node:assert/strict';
import { formatTargetAddress, parseTargetAddress } from '../../../../src/cli/targets/address.js';
import { TargetError } from '../../../../src/cli/targets/errors.js';

describe('cli/targets/address', () => {
  const good = [
    { text: '127.0.0.1:15000', host: '127.0.0.1', port: 15000 },
    { text: 'node-a.example:15014', host: 'node-a.example', port: 15014 },
    { text: '[::1]:15000', host: '::1', port: 15000 },
    { text: ':15000', host: '127.0.0.1', port: 15000 },
    { text: ' 10.0.0.1:1 ', host: '10.0.0.1', port: 1 },
  ];
  for (const c of good) {
    it(`"${c.text}" is ${c.host} port ${c.port}`, () => {
      assert.deepEqual(parseTargetAddress('--admin', c.text), { host: c.host, port: c.port });
    });
  }

  const bad = ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', '::1:15000', 'host:port', '', '[::1]'];
  for (const text of bad) {
    it(`"${text}" is refused with TARGET_BAD_ADDRESS naming the flag`, () => {
      assert.throws(
        () => parseTargetAddress('--admin', text),
        (err: unknown) =>
          err instanceof TargetError &&
          err.code === 'TARGET_BAD_ADDRESS' &&
          err.message.startsWith('--admin'),
      );
    });
  }

  it('formats IPv6 hosts in brackets', () => {
    assert.equal(formatTargetAddress({ host: '::1', port: 15000 }), '[::1]:15000');
    assert.equal(formatTargetAddress({ host: '10.0.0.1', port: 15000 }), '10.0.0.1:15000');
  });
});
