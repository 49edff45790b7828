/**
 * The X.509 pieces both roles encode: subjectAltName GeneralNames and the
 * signature algorithm a key signs with (the CA for certificates, the node
 * agent for its CSRs).
 */
import type { KeyObject } from 'node:crypto';
import { parseIpExact } from '../net/index.js';
import * as der from './der.js';
import { PkiError } from './errors.js';

const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
const OID_ECDSA_WITH_SHA512 = '1.2.840.10045.4.3.4';

/** How an issuer key signs: the digest for crypto.sign and the AlgorithmIdentifier DER. */
export interface SignatureAlgorithm {
  readonly digest: 'sha256' | 'sha384' | 'sha512';
  readonly algorithmIdentifier: Buffer;
}

/** Picks the signature algorithm for an issuer key: SHA-256 with RSA, ECDSA with the curve's matching digest. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') {
    return { digest: 'sha256', algorithmIdentifier: der.sequence(der.oid(OID_SHA256_WITH_RSA), der.NULL) };
  }
  if (key.asymmetricKeyType === 'ec') {
    switch (key.asymmetricKeyDetails?.namedCurve) {
      case 'prime256v1':
        return { digest: 'sha256', algorithmIdentifier: der.sequence(der.oid(OID_ECDSA_WITH_SHA256)) };
      case 'secp384r1':
        return { digest: 'sha384', algorithmIdentifier: der.sequence(der.oid(OID_ECDSA_WITH_SHA384)) };
      case 'secp521r1':
        return { digest: 'sha512', algorithmIdentifier: der.sequence(der.oid(OID_ECDSA_WITH_SHA512)) };
    }
  }
  throw new PkiError(
    'PKI_KEY_UNSUPPORTED',
    `issuer key type ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''} cannot sign certificates (RSA or ECDSA P-256/P-384/P-521 needed)`,
  );
}

export interface SubjectAltNames {
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

function ipBytes(ip: string): Buffer {
  const bytes = parseIpExact(ip);
  if (bytes !== undefined) return Buffer.from(bytes);
  throw new PkiError('PKI_BAD_SAN', `"${ip}" is not an IP address usable in a SAN`);
}

/** The GeneralNames of a subjectAltName: URIs [6], DNS names [2], IP addresses [7]. */
export function generalNames(sans: SubjectAltNames): Buffer {
  const names: Buffer[] = [];
  for (const uri of sans.uris ?? []) names.push(der.implicitPrimitive(6, Buffer.from(uri, 'ascii')));
  for (const dns of sans.dnsNames ?? []) names.push(der.implicitPrimitive(2, Buffer.from(dns, 'ascii')));
  for (const ip of sans.ipAddresses ?? []) names.push(der.implicitPrimitive(7, ipBytes(ip)));
  return der.sequence(...names);
}

