import assert from 'node:assert/strict';
import * as der from '../../../../src/shared/pki/der.js';
import { generalNames } from '../../../../src/shared/pki/index.js';

describe('istiod/ca/der', () => {
  const times: { date: string; hex: string }[] = [
    { date: '2026-11-25T15:18:12.345Z', hex: '170d3236313132353135313831325a' },
    { date: '2049-12-31T23:59:59Z', hex: '170d3439313233313233353935395a' },
    { date: '2050-01-01T00:00:00Z', hex: '180f32303530303130313030303030305a' },
  ];
  for (const c of times) {
    it(`encodes ${c.date} as ${c.hex.startsWith('17') ? 'UTCTime' : 'GeneralizedTime'} in whole seconds`, () => {
      assert.equal(der.time(new Date(c.date)).toString('hex'), c.hex);
    });
  }

  const integers: { magnitude: string; hex: string }[] = [
    { magnitude: '00', hex: '020100' },
    { magnitude: '7f', hex: '02017f' },
    { magnitude: '80', hex: '02020080' },
    { magnitude: '000001', hex: '020101' },
  ];
  for (const c of integers) {
    it(`encodes the unsigned magnitude ${c.magnitude} as the minimal positive INTEGER ${c.hex}`, () => {
      assert.equal(der.unsignedInteger(Buffer.from(c.magnitude, 'hex')).toString('hex'), c.hex);
    });
  }

  const bits: { bits: number[]; hex: string }[] = [
    { bits: [0, 2], hex: '030205a0' }, // digitalSignature, keyEncipherment
    { bits: [0, 5, 6], hex: '03020186' }, // digitalSignature, keyCertSign, cRLSign
    { bits: [8], hex: '0303070080' },
  ];
  for (const c of bits) {
    it(`encodes named bits ${c.bits.join(',')} without trailing zero bits as ${c.hex}`, () => {
      assert.equal(der.namedBits(c.bits).toString('hex'), c.hex);
    });
  }

  it('uses long-form lengths above 127 bytes', () => {
    const encoded = der.octetString(Buffer.alloc(300));
    assert.equal(encoded.subarray(0, 4).toString('hex'), '0482012c');
    assert.equal(encoded.length, 304);
  });

  it('wraps base64 at 64 columns and ends PEM with a newline', () => {
    const pem = der.toPem('CERTIFICATE', Buffer.alloc(100));
    const lines = pem.split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines[1]?.length, 64);
    assert.ok(pem.endsWith('-----END CERTIFICATE-----\n'));
  });
});

describe('istiod/ca/x509 generalNames', () => {
  const ips: { ip: string; hex: string }[] = [
    { ip: '127.0.0.1', hex: '87047f000001' },
    { ip: '::1', hex: '871000000000000000000000000000000001' },
    { ip: 'fd00:1::2', hex: '8710fd000001000000000000000000000002' },
  ];
  for (const c of ips) {
    it(`encodes the IP SAN ${c.ip} as ${c.hex}`, () => {
      assert.equal(
        generalNames({ ipAddresses: [c.ip] })
          .subarray(2)
          .toString('hex'),
        c.hex,
      );
    });
  }
  it('refuses an IP SAN that is not an address', () => {
    assert.throws(() => generalNames({ ipAddresses: ['localhost'] }), /not an IP address/);
  });
});
