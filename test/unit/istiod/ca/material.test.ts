import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CaError,
  caMaterialFromPem,
  generateAuthority,
  loadOrCreateCaMaterial,
} from '../../../../src/istiod/ca/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { createTestPki, writePluginCaDir } from '../../../support/ca.js';

const TD = 'cluster.local';

function caError(code: string, mentions: string) {
  return (e: unknown): boolean => e instanceof CaError && e.code === code && e.message.includes(mentions);
}

describe('istiod/ca/material', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ambit-ca-material-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates an RSA 2048 self-signed root on first start, key mode 0600, and reuses it after', async () => {
    const caDir = path.join(dir, 'ca');
    const first = await loadOrCreateCaMaterial({ caDir, trustDomain: TD, logger: silentLogger });
    assert.equal(first.source, 'created');
    assert.equal(first.signingKey.asymmetricKeyType, 'rsa');
    assert.equal(first.signingKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal((await fs.stat(path.join(caDir, 'ca-key.pem'))).mode & 0o777, 0o600);
    assert.equal(
      await fs.readFile(path.join(caDir, 'ca-cert.pem'), 'utf8'),
      await fs.readFile(path.join(caDir, 'root-cert.pem'), 'utf8'),
    );
    const second = await loadOrCreateCaMaterial({ caDir, trustDomain: TD, logger: silentLogger });
    assert.equal(second.source, 'self-signed');
    assert.ok(second.signingCert.raw.equals(first.signingCert.raw));
    assert.deepEqual(second.intermediatePems, []);
  });

  it('creates a root valid for 10 years by default, or for the TTL asked', async () => {
    const tenYears = await loadOrCreateCaMaterial({
      caDir: path.join(dir, 'a'),
      trustDomain: TD,
      keyType: 'ecdsa-p256',
      logger: silentLogger,
    });
    const days = (tenYears.rootNotAfter.getTime() - Date.now()) / 86400_000;
    assert.ok(days > 3649 && days < 3651, `root lives ${days} days`);
    const short = await loadOrCreateCaMaterial({
      caDir: path.join(dir, 'b'),
      trustDomain: TD,
      keyType: 'ecdsa-p256',
      rootTtlSeconds: 86400,
      logger: silentLogger,
    });
    assert.ok(Math.abs(short.rootNotAfter.getTime() - Date.now() - 86400_000) < 5000);
  });

  it('loads a plug-in intermediate and hands out its chain', async () => {
    const pki = createTestPki({ intermediate: true });
    await writePluginCaDir(dir, pki);
    const m = await loadOrCreateCaMaterial({ caDir: dir, trustDomain: TD, logger: silentLogger });
    assert.equal(m.source, 'plugged-in');
    assert.deepEqual(m.intermediatePems, [pki.intermediate?.certPem]);
    assert.deepEqual(m.rootPems, [pki.root.certPem]);
  });

  it('refuses a key without its certificate instead of replacing it', async () => {
    await fs.writeFile(
      path.join(dir, 'ca-key.pem'),
      generateAuthority({ trustDomain: TD, keyType: 'ecdsa-p256' }).keyPem,
    );
    await assert.rejects(
      loadOrCreateCaMaterial({ caDir: dir, trustDomain: TD, logger: silentLogger }),
      caError('CA_MATERIAL_INVALID', 'ca-key.pem'),
    );
  });

  it('refuses a certificate without its key', async () => {
    await fs.writeFile(
      path.join(dir, 'ca-cert.pem'),
      generateAuthority({ trustDomain: TD, keyType: 'ecdsa-p256' }).certPem,
    );
    await assert.rejects(
      loadOrCreateCaMaterial({ caDir: dir, trustDomain: TD, logger: silentLogger }),
      caError('CA_MATERIAL_INVALID', 'ca-key.pem: missing'),
    );
  });

  const a = generateAuthority({ trustDomain: TD, keyType: 'ecdsa-p256' });
  const b = generateAuthority({ trustDomain: TD, keyType: 'ecdsa-p256' });
  const expired = generateAuthority({
    trustDomain: TD,
    keyType: 'ecdsa-p256',
    ttlSeconds: 3600,
    now: new Date(Date.now() - 2 * 86400_000),
  });
  const leafPki = createTestPki();
  const leaf = leafPki.issueServing(['localhost']);
  const intermediatePki = createTestPki({ intermediate: true });

  const invalid: { name: string; files: Record<string, string>; mentions: string }[] = [
    {
      name: 'a key that does not match the certificate',
      files: { 'ca-cert.pem': a.certPem, 'ca-key.pem': b.keyPem },
      mentions: 'does not match',
    },
    {
      name: 'a certificate that is not a CA',
      files: { 'ca-cert.pem': leaf.certPem, 'ca-key.pem': leaf.keyPem },
      mentions: 'is not a CA',
    },
    {
      name: 'an expired CA certificate',
      files: { 'ca-cert.pem': expired.certPem, 'ca-key.pem': expired.keyPem },
      mentions: 'expired at',
    },
    {
      name: 'a certificate file that is not PEM',
      files: { 'ca-cert.pem': 'not a cert', 'ca-key.pem': a.keyPem },
      mentions: 'ca-cert.pem',
    },
    {
      name: 'a key file that is not a key',
      files: { 'ca-cert.pem': a.certPem, 'ca-key.pem': 'nope' },
      mentions: 'ca-key.pem: private key cannot be parsed',
    },
    {
      name: 'an intermediate whose chain does not reach the root',
      files: {
        'ca-cert.pem': intermediatePki.intermediate?.certPem ?? '',
        'ca-key.pem': intermediatePki.intermediate?.keyPem ?? '',
        'cert-chain.pem': intermediatePki.intermediate?.certPem ?? '',
        'root-cert.pem': a.certPem,
      },
      mentions: 'is not signed by any root in',
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} with CA_MATERIAL_INVALID naming the file`, async () => {
      for (const [name, content] of Object.entries(c.files))
        await fs.writeFile(path.join(dir, name), content);
      await assert.rejects(
        loadOrCreateCaMaterial({ caDir: dir, trustDomain: TD, logger: silentLogger }),
        (e: unknown) => {
          assert.ok(e instanceof CaError && e.code === 'CA_MATERIAL_INVALID', String(e));
          assert.ok(e.message.includes(c.mentions), e.message);
          assert.ok(e.message.includes(dir), e.message);
          return true;
        },
      );
    });
  }

  it('validates PEM material given in memory, defaulting the root to the CA itself', () => {
    const m = caMaterialFromPem({
      trustDomain: TD,
      source: 'in-memory',
      caCertPem: a.certPem,
      caKeyPem: a.keyPem,
    });
    assert.deepEqual(m.rootPems, [a.certPem]);
    assert.equal(m.chainNotAfter.getTime(), m.rootNotAfter.getTime());
  });
});
