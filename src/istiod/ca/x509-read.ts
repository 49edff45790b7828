/**
 * Reading the parts of DER structures that Node's X509Certificate does not
 * expose (the raw subject Name, the SubjectKeyIdentifier), with node-forge's
 * ASN.1 parser.
 */
import { createHash } from 'node:crypto';
import forge from 'node-forge';

const OID_SUBJECT_KEY_ID = '2.5.29.14';

type Asn1 = forge.asn1.Asn1;

/** forge's fromDer accepts an options object; its typings only show `strict`. */
const fromDer = forge.asn1.fromDer as unknown as (
  bytes: string,
  options: { strict: boolean; parseAllBytes: boolean; decodeBitStrings: boolean },
) => Asn1;

/** Parses DER without reinterpreting BIT STRING contents, so re-encoding gives the same bytes. */
export function parseDer(bytes: Buffer): Asn1 {
  return fromDer(bytes.toString('binary'), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

export function encodeDer(node: Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');
}

export function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (node === undefined || !Array.isArray(node.value))
    throw new Error(`${what} is not a constructed ASN.1 value`);
  return node.value;
}

export function primitive(node: Asn1 | undefined, what: string): string {
  if (node === undefined || typeof node.value !== 'string')
    throw new Error(`${what} is not a primitive ASN.1 value`);
  return node.value;
}

export function isContextTag(node: Asn1 | undefined, n: number): boolean {
  return node !== undefined && node.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && node.type === n;
}

/** The key bytes of a SubjectPublicKeyInfo (the BIT STRING's content without its unused-bits octet). */
export function subjectPublicKeyBytes(spki: Asn1): Buffer {
  const bits = primitive(children(spki, 'SubjectPublicKeyInfo')[1], 'subjectPublicKey');
  return Buffer.from(bits.slice(1), 'binary');
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifierOf(spkiDer: Buffer): Buffer {
  return createHash('sha1')
    .update(subjectPublicKeyBytes(parseDer(spkiDer)))
    .digest();
}

export interface CertificateParts {
  readonly subjectDer: Buffer;
  readonly subjectPublicKeyInfoDer: Buffer;
  /** The SubjectKeyIdentifier extension's value, when the certificate has one. */
  readonly subjectKeyId?: Buffer;
}

/** Extracts the subject, the key and the SubjectKeyIdentifier from a DER certificate. */
export function certificateParts(certDer: Buffer): CertificateParts {
  const tbs = children(children(parseDer(certDer), 'Certificate')[0], 'TBSCertificate');
  const fields = isContextTag(tbs[0], 0) ? tbs.slice(1) : tbs;
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [1], [2], [3]
  const subject = fields[4];
  const spki = fields[5];
  if (subject === undefined || spki === undefined) throw new Error('TBSCertificate is truncated');
  let subjectKeyId: Buffer | undefined;
  for (const field of fields.slice(6)) {
    if (!isContextTag(field, 3)) continue;
    for (const ext of children(children(field, 'extensions')[0], 'Extensions')) {
      const parts = children(ext, 'Extension');
      if (forge.asn1.derToOid(primitive(parts[0], 'extnID')) !== OID_SUBJECT_KEY_ID) continue;
      const value = parseDer(Buffer.from(primitive(parts[parts.length - 1], 'extnValue'), 'binary'));
      subjectKeyId = Buffer.from(primitive(value, 'SubjectKeyIdentifier'), 'binary');
    }
  }
  return {
    subjectDer: encodeDer(subject),
    subjectPublicKeyInfoDer: encodeDer(spki),
    ...(subjectKeyId === undefined ? {} : { subjectKeyId }),
  };
}
