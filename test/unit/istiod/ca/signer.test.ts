import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import {
  CertificateSigner,
  caMaterialFromPem,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  generateAuthority,
  MAX_WORKLOAD_CERT_TTL_SECONDS,
  NOT_BEFORE_BACKDATE_SECONDS,
  type CaKeyType,
} from '../../../../src/istiod/ca/index.js';
import {
  certificateParts,
  children,
  isContextTag,
  parseDer,
  primitive,
} from '../../../../src/istiod/ca/x509-read.js';
import { createTestPki, newKey, opensslVerify } from '../../../support/ca.js';

const ID = 'spiffe://cluster.local/ns/demo/sa/frontend';
const NOW = Date.parse('2026-06-01T00:00:00Z');

interface Ext {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Buffer;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** The extensions of a certificate, with their criticality (Node's X509Certificate hides it). */
function extensionsOf(certPem: string): Map<string, Ext> {
  const tbs = children(children(parseDer(pemToDer(certPem)), 'cert')[0], 'tbs');
  const out = new Map<string, Ext>();
  for (const field of tbs) {
    if (!isContextTag(field, 3)) continue;
    for (const ext of children(children(field, 'exts')[0], 'list')) {
      const parts = children(ext, 'ext');
      const oid = forge.asn1.derToOid(primitive(parts[0], 'oid'));
      const critical = parts.length === 3 && primitive(parts[1], 'critical') === '\xff';
      out.set(oid, {
        oid,
        critical,
        value: Buffer.from(primitive(parts[parts.length - 1], 'value'), 'binary'),
      });
    }
  }
  return out;
}

function spkiOf(): Buffer {
  return createPublicKey(newKey('ec-p256')).export({ format: 'der', type: 'spki' });
}

describe('istiod/ca/signer', () => {
  const pki = createTestPki();
  const signer = new CertificateSigner(pki.material, { now: () => NOW });

  describe('workload certificate fields', () => {
    const issued = signer.issueWorkloadCertificateSync(spkiOf(), ID, 0);
    const cert = new X509Certificate(issued.certPem);
    const exts = extensionsOf(issued.certPem);

    it('has an empty subject and the identity as its only, critical, URI SAN', () => {
      assert.equal(certificateParts(cert.raw).subjectDer.toString('hex'), '3000');
      assert.equal(cert.subjectAltName, `URI:${ID}`);
      assert.equal(exts.get('2.5.29.17')?.critical, true);
    });

    it('is not a CA (critical basicConstraints CA:false)', () => {
      assert.equal(cert.ca, false);
      assert.equal(exts.get('2.5.29.19')?.critical, true);
      assert.equal(exts.get('2.5.29.19')?.value.toString('hex'), '3000');
    });

    it('has critical keyUsage digitalSignature+keyEncipherment and extKeyUsage serverAuth+clientAuth', () => {
      assert.equal(exts.get('2.5.29.15')?.critical, true);
      assert.equal(exts.get('2.5.29.15')?.value.toString('hex'), '030205a0');
      assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    });

    it("carries the CA's key identifier as its authority key identifier", () => {
      const caKeyId = certificateParts(pki.material.signingCert.raw).subjectKeyId;
      assert.ok(caKeyId);
      assert.equal(exts.get('2.5.29.35')?.value.toString('hex'), `30168014${caKeyId.toString('hex')}`);
    });

    it('is issued by the CA and verifies with its key', () => {
      assert.ok(cert.checkIssued(pki.material.signingCert));
      assert.ok(cert.verify(pki.material.signingCert.publicKey));
    });

    it('has a positive random serial of at most 128 bits, different each time', () => {
      const other = new X509Certificate(signer.issueWorkloadCertificateSync(spkiOf(), ID, 0).certPem);
      assert.ok(cert.serialNumber.length <= 32);
      assert.ok(parseInt(cert.serialNumber.slice(0, 2), 16) < 0x80);
      assert.notEqual(cert.serialNumber, other.serialNumber);
    });

    it(`is valid from ${NOT_BEFORE_BACKDATE_SECONDS}s before issuance for the default 24 h`, () => {
      assert.equal(Date.parse(cert.validFrom), NOW - NOT_BEFORE_BACKDATE_SECONDS * 1000);
      assert.equal(Date.parse(cert.validTo), NOW + DEFAULT_WORKLOAD_CERT_TTL_SECONDS * 1000);
      assert.equal(issued.notAfter.getTime(), NOW + DEFAULT_WORKLOAD_CERT_TTL_SECONDS * 1000);
    });

    it('answers the chain [leaf, root] for a self-signed root, each element ending with a newline', () => {
      assert.deepEqual(issued.certChain, [issued.certPem, pki.rootPem]);
      for (const pem of issued.certChain) assert.ok(pem.endsWith('\n'));
    });
  });

  const ttlCases: { name: string; requested: number; wantSeconds: number }[] = [
    { name: 'zero asks for the default', requested: 0, wantSeconds: DEFAULT_WORKLOAD_CERT_TTL_SECONDS },
    {
      name: 'a negative value asks for the default',
      requested: -5,
      wantSeconds: DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
    },
    { name: 'one hour is granted', requested: 3600, wantSeconds: 3600 },
    {
      name: 'the maximum is granted',
      requested: MAX_WORKLOAD_CERT_TTL_SECONDS,
      wantSeconds: MAX_WORKLOAD_CERT_TTL_SECONDS,
    },
    {
      name: 'a year is shortened to the maximum',
      requested: 365 * 86400,
      wantSeconds: MAX_WORKLOAD_CERT_TTL_SECONDS,
    },
  ];
  for (const c of ttlCases) {
    it(`TTL: ${c.name} (${c.wantSeconds}s)`, () => {
      const issued = signer.issueWorkloadCertificateSync(spkiOf(), ID, c.requested);
      assert.equal(Date.parse(new X509Certificate(issued.certPem).validTo), NOW + c.wantSeconds * 1000);
    });
  }

  it('honours configured default and maximum TTLs', () => {
    const s = new CertificateSigner(pki.material, {
      now: () => NOW,
      defaultTtlSeconds: 600,
      maxTtlSeconds: 1200,
    });
    assert.equal(s.grantedTtlSeconds(0), 600);
    assert.equal(s.grantedTtlSeconds(5000), 1200);
  });

  it("never lets a certificate outlive the CA's own certificate", () => {
    const shortRoot = generateAuthority({
      trustDomain: 'cluster.local',
      keyType: 'ecdsa-p256',
      ttlSeconds: 7200,
    });
    const material = caMaterialFromPem({
      trustDomain: 'cluster.local',
      source: 'in-memory',
      caCertPem: shortRoot.certPem,
      caKeyPem: shortRoot.keyPem,
    });
    const s = new CertificateSigner(material);
    const issued = s.issueWorkloadCertificateSync(spkiOf(), ID, 86400);
    assert.equal(issued.notAfter.getTime(), material.chainNotAfter.getTime());
    assert.equal(Date.parse(new X509Certificate(issued.certPem).validTo), material.chainNotAfter.getTime());
  });

  it('signs on the thread pool with the same result shape as the synchronous path', async () => {
    const issued = await signer.issueWorkloadCertificate(spkiOf(), ID, 3600);
    assert.equal(new X509Certificate(issued.certPem).subjectAltName, `URI:${ID}`);
    assert.ok(new X509Certificate(issued.certPem).verify(pki.material.signingCert.publicKey));
  });

  const caKeys: CaKeyType[] = ['rsa-2048', 'ecdsa-p256'];
  for (const keyType of caKeys) {
    it(`a ${keyType} CA issues certificates that openssl verify accepts, for ECDSA and RSA subject keys`, async () => {
      const p = createTestPki({ keyType });
      for (const kind of ['ec-p256', 'rsa-2048'] as const) {
        const spki = createPublicKey(newKey(kind)).export({ format: 'der', type: 'spki' });
        const issued = p.signer.issueWorkloadCertificateSync(spki, ID, 0);
        const result = await opensslVerify(p.rootPem, '', issued.certPem);
        assert.ok(result.ok, result.output);
      }
    });
  }

  describe('serving certificate', () => {
    const serving = signer.issueServingCertificate(
      ['istiod.istio-system.svc', 'localhost', '127.0.0.1'],
      3600,
    );
    const cert = new X509Certificate(serving.certPem);

    it('has DNS SANs for names and IP SANs for IP literals', () => {
      assert.equal(cert.subjectAltName, 'DNS:istiod.istio-system.svc, DNS:localhost, IP Address:127.0.0.1');
      assert.equal(cert.checkHost('istiod.istio-system.svc'), 'istiod.istio-system.svc');
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    });

    it('comes with a matching private key and the requested lifetime', () => {
      assert.ok(cert.checkPrivateKey(createPrivateKey(serving.keyPem)));
      assert.equal(Date.parse(cert.validTo), NOW + 3600 * 1000);
    });
  });
});
