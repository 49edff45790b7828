/**
 * Building X.509 v3 certificates: the TBSCertificate is DER-assembled here
 * and signed with Node's crypto (OpenSSL), which handles RSA and ECDSA issuer
 * keys alike; node-forge's certificate builder only knows RSA keys.
 */
import { randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { generalNames, type SignatureAlgorithm, type SubjectAltNames } from '../../shared/pki/index.js';
import * as der from '../../shared/pki/der.js';
import { CaError } from './errors.js';

export { signatureAlgorithmFor, type SignatureAlgorithm, type SubjectAltNames } from '../../shared/pki/index.js';

const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_KEY_USAGE = '2.5.29.15';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KeyUsageBit = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

/** An X.501 Name with the given attributes in order; no attributes gives the empty Name Istio leaves carry. */
export function name(attrs: { readonly organization?: string; readonly commonName?: string }): Buffer {
  const rdns: Buffer[] = [];
  if (attrs.organization !== undefined) {
    rdns.push(
      der.set(
        der.sequence(
          der.oid(OID_ORGANIZATION),
          der.tlv(der.TAG_UTF8_STRING, Buffer.from(attrs.organization)),
        ),
      ),
    );
  }
  if (attrs.commonName !== undefined) {
    rdns.push(
      der.set(
        der.sequence(der.oid(OID_COMMON_NAME), der.tlv(der.TAG_UTF8_STRING, Buffer.from(attrs.commonName))),
      ),
    );
  }
  return der.sequence(...rdns);
}

function extension(oidText: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? der.sequence(der.oid(oidText), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oidText), der.octetString(value));
}

/** Extension builders; each returns one encoded Extension. */
export const extensions = {
  /** Critical when the subject is empty (RFC 5280 4.2.1.6), as on Istio's workload certificates. */
  subjectAltName: (sans: SubjectAltNames, critical: boolean): Buffer =>
    extension(OID_SUBJECT_ALT_NAME, critical, generalNames(sans)),
  keyUsage: (bits: readonly number[]): Buffer => extension(OID_KEY_USAGE, true, der.namedBits(bits)),
  serverAndClientAuth: (): Buffer =>
    extension(OID_EXT_KEY_USAGE, false, der.sequence(der.oid(OID_SERVER_AUTH), der.oid(OID_CLIENT_AUTH))),
  basicConstraints: (ca: boolean, pathLength?: number): Buffer => {
    const parts: Buffer[] = [];
    if (ca) parts.push(der.boolean(true));
    if (ca && pathLength !== undefined) parts.push(der.smallInteger(pathLength));
    return extension(OID_BASIC_CONSTRAINTS, true, der.sequence(...parts));
  },
  subjectKeyIdentifier: (keyId: Buffer): Buffer =>
    extension(OID_SUBJECT_KEY_ID, false, der.octetString(keyId)),
  authorityKeyIdentifier: (keyId: Buffer): Buffer =>
    extension(OID_AUTHORITY_KEY_ID, false, der.sequence(der.implicitPrimitive(0, keyId))),
};

/** Who signs: the issuer's Name (DER, copied from its certificate) and private key. */
export interface CertificateIssuer {
  readonly nameDer: Buffer;
  readonly privateKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
}

export interface CertificateTemplate {
  /** DER Name of the subject; `name({})` for an empty subject. */
  readonly subjectDer: Buffer;
  /** DER SubjectPublicKeyInfo, embedded as is. */
  readonly subjectPublicKeyInfoDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Encoded Extension elements, in order. */
  readonly extensions: readonly Buffer[];
  /** Serial magnitude; a random positive 128-bit value when absent. */
  readonly serial?: Buffer;
}

const SERIAL_BYTES = 16;
/** Random bytes are drawn in blocks: one CSPRNG call per serial cost more than the rest of building a certificate. */
const SERIAL_POOL_BYTES = SERIAL_BYTES * 256;
let serialPool = Buffer.alloc(0);
let serialPoolOffset = 0;

/**
 * A random positive serial of 16 octets (RFC 5280 allows up to 20). The top
 * bit of the first octet is cleared so the INTEGER needs no padding, and its
 * lowest bit is set so the length never shrinks: 126 random bits.
 */
export function randomSerial(): Buffer {
  if (serialPoolOffset + SERIAL_BYTES > serialPool.length) {
    serialPool = randomBytes(SERIAL_POOL_BYTES);
    serialPoolOffset = 0;
  }
  const serial = Buffer.from(serialPool.subarray(serialPoolOffset, serialPoolOffset + SERIAL_BYTES));
  serialPool.fill(0, serialPoolOffset, serialPoolOffset + SERIAL_BYTES);
  serialPoolOffset += SERIAL_BYTES;
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  return serial;
}

function tbsCertificate(template: CertificateTemplate, issuer: CertificateIssuer): Buffer {
  return der.sequence(
    der.explicit(0, der.smallInteger(2)),
    der.unsignedInteger(template.serial ?? randomSerial()),
    issuer.algorithm.algorithmIdentifier,
    issuer.nameDer,
    der.sequence(der.time(template.notBefore), der.time(template.notAfter)),
    template.subjectDer,
    template.subjectPublicKeyInfoDer,
    der.explicit(3, der.sequence(...template.extensions)),
  );
}

function assemble(tbs: Buffer, issuer: CertificateIssuer, signature: Buffer): string {
  return der.toPem(
    'CERTIFICATE',
    der.sequence(tbs, issuer.algorithm.algorithmIdentifier, der.bitString(signature)),
  );
}

/** Builds and signs a certificate on the calling thread; returns it as PEM. */
export function buildCertificate(template: CertificateTemplate, issuer: CertificateIssuer): string {
  const tbs = tbsCertificate(template, issuer);
  return assemble(tbs, issuer, cryptoSign(issuer.algorithm.digest, tbs, issuer.privateKey));
}

/**
 * Builds a certificate and signs it on libuv's thread pool, so that RSA
 * signatures (the costly part of issuance) do not block the event loop and
 * run on several cores at once.
 */
export function buildCertificateAsync(
  template: CertificateTemplate,
  issuer: CertificateIssuer,
): Promise<string> {
  const tbs = tbsCertificate(template, issuer);
  return new Promise((resolve, reject) => {
    cryptoSign(issuer.algorithm.digest, tbs, issuer.privateKey, (err, signature) => {
      if (err)
        reject(
          new CaError('CA_SIGN_FAILED', `signing the certificate failed: ${err.message}`, { cause: err }),
        );
      else resolve(assemble(tbs, issuer, signature));
    });
  });
}
