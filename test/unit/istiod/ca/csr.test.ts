import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaError, MAX_CSR_PEM_BYTES, parseCsr } from '../../../../src/istiod/ca/index.js';
import { createCsr } from '../../../../src/shared/pki/index.js';
import { newCsr, newKey, run, type TestKeyType } from '../../../support/ca.js';

const ID = 'spiffe://cluster.local/ns/demo/sa/frontend';

function isCaError(code: string) {
  return (e: unknown): boolean => e instanceof CaError && e.code === code;
}

describe('istiod/ca/csr', () => {
  const keyCases: { kind: TestKeyType; want: string }[] = [
    { kind: 'ec-p256', want: 'ECDSA P-256' },
    { kind: 'ec-p384', want: 'ECDSA P-384' },
    { kind: 'rsa-2048', want: 'RSA 2048' },
    { kind: 'rsa-3072', want: 'RSA 3072' },
  ];
  for (const c of keyCases) {
    it(`accepts a ${c.kind} CSR and reports its key as ${c.want}`, () => {
      const { csrPem } = newCsr({ uris: [ID] }, c.kind);
      const csr = parseCsr(csrPem);
      assert.equal(csr.keyDescription, c.want);
      assert.deepEqual(csr.uris, [ID]);
    });
  }

  const refusedKeys: { kind: TestKeyType; reason: string }[] = [
    { kind: 'rsa-1024', reason: 'RSA 1024' },
    { kind: 'ec-p521', reason: 'secp521r1' },
  ];
  for (const c of refusedKeys) {
    it(`refuses a ${c.kind} CSR with CA_CSR_KEY_UNSUPPORTED`, () => {
      const { csrPem } = newCsr({ uris: [ID] }, c.kind);
      assert.throws(
        () => parseCsr(csrPem),
        (e: unknown) => isCaError('CA_CSR_KEY_UNSUPPORTED')(e) && (e as Error).message.includes(c.reason),
      );
    });
  }

  it('reads URI, DNS and IP SANs from the extensionRequest', () => {
    const { csrPem } = newCsr({
      uris: [ID, 'spiffe://cluster.local/ns/a/sa/b'],
      dnsNames: ['a.example'],
      ipAddresses: ['10.1.2.3', '::1'],
    });
    const csr = parseCsr(csrPem);
    assert.deepEqual(csr.uris, [ID, 'spiffe://cluster.local/ns/a/sa/b']);
    assert.deepEqual(csr.dnsNames, ['a.example']);
    assert.deepEqual(csr.ipAddresses, ['10.1.2.3', '::1']);
    assert.equal(csr.otherSanCount, 0);
  });

  it('reads a CSR without SANs as having none', () => {
    const csr = parseCsr(createCsr(newKey(), {}));
    assert.deepEqual(csr.uris, []);
  });

  it('refuses a CSR whose signature bytes were altered with CA_CSR_SIGNATURE_INVALID', () => {
    const { csrPem } = newCsr({ uris: [ID] });
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    // Flip a byte inside the signature (the DER ends with the signature BIT STRING).
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => parseCsr(tampered), isCaError('CA_CSR_SIGNATURE_INVALID'));
  });

  it('refuses a CSR whose signed content was altered with CA_CSR_SIGNATURE_INVALID', () => {
    const { csrPem } = newCsr({ uris: ['spiffe://cluster.local/ns/demo/sa/aaaaaaaa'] });
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const at = der.indexOf(Buffer.from('aaaaaaaa'));
    der[at] = 'b'.charCodeAt(0);
    const altered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => parseCsr(altered), isCaError('CA_CSR_SIGNATURE_INVALID'));
  });

  const malformed: { name: string; pem: string }[] = [
    { name: 'an empty string', pem: '' },
    { name: 'text that is not PEM', pem: 'hello' },
    {
      name: 'a PEM block of another type',
      pem: '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n',
    },
    {
      name: 'a CSR block holding garbage',
      pem: '-----BEGIN CERTIFICATE REQUEST-----\nAAECAwQ=\n-----END CERTIFICATE REQUEST-----\n',
    },
    { name: 'an oversized request', pem: 'x'.repeat(MAX_CSR_PEM_BYTES + 1) },
  ];
  for (const c of malformed) {
    it(`refuses ${c.name} with CA_CSR_MALFORMED`, () => {
      assert.throws(() => parseCsr(c.pem), isCaError('CA_CSR_MALFORMED'));
    });
  }

  describe('against openssl', () => {
    let dir = '';
    before(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ambit-csr-'));
    });
    after(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('accepts a CSR made by openssl req with a URI SAN', async () => {
      const key = path.join(dir, 'k.pem');
      const csr = path.join(dir, 'c.pem');
      const gen = await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
      assert.equal(gen.code, 0, gen.output);
      const req = await run('openssl', [
        'req',
        '-new',
        '-key',
        key,
        '-subj',
        '/',
        '-addext',
        `subjectAltName=URI:${ID}`,
        '-out',
        csr,
      ]);
      assert.equal(req.code, 0, req.output);
      const parsed = parseCsr(await fs.readFile(csr, 'utf8'));
      assert.deepEqual(parsed.uris, [ID]);
      assert.equal(parsed.keyDescription, 'ECDSA P-256');
    });

    it('produces CSRs that openssl req -verify accepts', async () => {
      const csr = path.join(dir, 'ours.pem');
      await fs.writeFile(csr, newCsr({ uris: [ID] }).csrPem);
      const out = await run('openssl', ['req', '-in', csr, '-verify', '-noout']);
      assert.equal(out.code, 0, out.output);
      assert.match(out.output, /verify OK/i);
    });

    it('refuses an Ed25519 CSR made by openssl with CA_CSR_KEY_UNSUPPORTED', async () => {
      const key = path.join(dir, 'ed.pem');
      const csr = path.join(dir, 'ed-csr.pem');
      assert.equal((await run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key])).code, 0);
      assert.equal(
        (
          await run('openssl', [
            'req',
            '-new',
            '-key',
            key,
            '-subj',
            '/',
            '-addext',
            `subjectAltName=URI:${ID}`,
            '-out',
            csr,
          ])
        ).code,
        0,
      );
      const pem = await fs.readFile(csr, 'utf8');
      assert.throws(() => parseCsr(pem), isCaError('CA_CSR_KEY_UNSUPPORTED'));
    });
  });
});
