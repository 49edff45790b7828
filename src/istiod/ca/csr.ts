/**
 * PKCS#10 certificate signing requests (RFC 2986): parsing and checking what
 * a node agent sends, and building one (for node agents and tests).
 *
 * node-forge parses the ASN.1 (the PEM armour is read directly); its own CSR reader only accepts
 * RSA keys, so the structure is walked here and the key and the signature
 * are checked with Node's crypto, which knows ECDSA as well.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { formatIp } from '../../shared/net/index.js';
import * as der from '../../shared/pki/der.js';
import { CaError } from './errors.js';
import { children, isContextTag, parseDer, primitive } from './x509-read.js';


/** Bigger requests are refused before parsing; a P-384 CSR with a few SANs is well under 2 KiB. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;
/** ECDSA curves accepted for workload keys (ztunnel uses P-256). */
export const ACCEPTED_CURVES: ReadonlyMap<string, string> = new Map([
  ['prime256v1', 'P-256'],
  ['secp384r1', 'P-384'],
]);

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** CSR signature algorithms accepted, by OID, with the digest Node's verify needs. */
const CSR_SIGNATURE_DIGESTS: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.11', 'sha256'], // sha256WithRSAEncryption
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.3.2', 'sha256'], // ecdsa-with-SHA256
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
]);

/** A CSR that parsed, whose signature verified and whose key is accepted. */
export interface ParsedCsr {
  /** The SubjectPublicKeyInfo exactly as the CSR carried it. */
  readonly subjectPublicKeyInfoDer: Buffer;
  readonly publicKey: KeyObject;
  /** "ECDSA P-256", "RSA 2048": for logs and messages. */
  readonly keyDescription: string;
  /** URI SANs from the extensionRequest attribute, in order. */
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** Count of SANs of other kinds (email, otherName...), which the CA never copies. */
  readonly otherSanCount: number;
}

function malformed(reason: string, cause?: unknown): CaError {
  return new CaError(
    'CA_CSR_MALFORMED',
    `CSR is malformed: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new CaError(
        'CA_CSR_KEY_UNSUPPORTED',
        `CSR key is RSA ${bits}; RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`,
      );
    }
    return `RSA ${bits}`;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    const known = ACCEPTED_CURVES.get(curve);
    if (known === undefined) {
      throw new CaError(
        'CA_CSR_KEY_UNSUPPORTED',
        `CSR key is ECDSA on curve ${curve}; accepted curves are P-256 and P-384`,
      );
    }
    return `ECDSA ${known}`;
  }
  throw new CaError(
    'CA_CSR_KEY_UNSUPPORTED',
    `CSR key type ${key.asymmetricKeyType ?? 'unknown'} is not accepted (ECDSA P-256/P-384 or RSA >= ${MIN_RSA_BITS})`,
  );
}

interface Sans {
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
  other: number;
}

/** A SAN iPAddress (4 or 16 raw bytes in forge's binary string) as canonical text. */
function ipText(bytes: string): string {
  return formatIp(Buffer.from(bytes, 'binary'));
}

function readSans(extnValue: string, into: Sans): void {
  for (const gn of children(parseDer(Buffer.from(extnValue, 'binary')), 'subjectAltName')) {
    if (gn.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC) {
      into.other++;
    } else if (gn.type === 6) {
      into.uris.push(primitive(gn, 'uniformResourceIdentifier'));
    } else if (gn.type === 2) {
      into.dnsNames.push(primitive(gn, 'dNSName'));
    } else if (gn.type === 7) {
      into.ipAddresses.push(ipText(primitive(gn, 'iPAddress')));
    } else {
      into.other++;
    }
  }
}

function readAttributes(attributes: forge.asn1.Asn1 | undefined, into: Sans): void {
  if (attributes === undefined) return;
  for (const attribute of children(attributes, 'attributes')) {
    const [type, values] = children(attribute, 'Attribute');
    if (forge.asn1.derToOid(primitive(type, 'Attribute.type')) !== OID_EXTENSION_REQUEST) continue;
    for (const extensionsNode of children(values, 'extensionRequest values')) {
      for (const ext of children(extensionsNode, 'Extensions')) {
        const parts = children(ext, 'Extension');
        if (forge.asn1.derToOid(primitive(parts[0], 'extnID')) !== OID_SUBJECT_ALT_NAME) continue;
        readSans(primitive(parts[parts.length - 1], 'extnValue'), into);
      }
    }
  }
}

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const JWK_CURVES: ReadonlyMap<string, { crv: string; bytes: number; curve: string }> = new Map([
  ['1.2.840.10045.3.1.7', { crv: 'P-256', bytes: 32, curve: 'prime256v1' }],
  ['1.3.132.0.34', { crv: 'P-384', bytes: 48, curve: 'secp384r1' }],
]);

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/**
 * The CSR's public key as a KeyObject. RSA keys and uncompressed P-256/P-384
 * points are imported as JWK from the parsed SubjectPublicKeyInfo: OpenSSL
 * 3's DER decoder costs several times more per key, and a CA decodes one
 * key per request. Anything else takes the DER path (and is then refused or
 * described by its real type).
 */
function importPublicKey(spki: forge.asn1.Asn1, spkiDer: Buffer): KeyObject {
  const [algorithm, keyBits] = children(spki, 'SubjectPublicKeyInfo');
  const [algOid, params] = children(algorithm, 'AlgorithmIdentifier');
  const alg = forge.asn1.derToOid(primitive(algOid, 'algorithm'));
  const key = Buffer.from(primitive(keyBits, 'subjectPublicKey').slice(1), 'binary');
  if (alg === OID_RSA_ENCRYPTION) {
    const [n, e] = children(parseDer(key), 'RSAPublicKey');
    let modulus = Buffer.from(primitive(n, 'modulus'), 'binary');
    while (modulus.length > 1 && modulus[0] === 0) modulus = modulus.subarray(1);
    const bits = modulus.length * 8 - Math.clz32(modulus[0] ?? 0) + 24;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new CaError(
        'CA_CSR_KEY_UNSUPPORTED',
        `CSR key is RSA ${bits}; RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`,
      );
    }
    const exponent = Buffer.from(primitive(e, 'publicExponent'), 'binary');
    return createPublicKey({
      key: { kty: 'RSA', n: base64url(modulus), e: base64url(exponent) },
      format: 'jwk',
    });
  }
  if (alg === OID_EC_PUBLIC_KEY && params !== undefined && typeof params.value === 'string') {
    const curve = JWK_CURVES.get(forge.asn1.derToOid(params.value));
    if (curve !== undefined && key.length === 1 + 2 * curve.bytes && key[0] === 0x04) {
      const x = key.subarray(1, 1 + curve.bytes);
      const y = key.subarray(1 + curve.bytes);
      return createPublicKey({
        key: { kty: 'EC', crv: curve.crv, x: base64url(x), y: base64url(y) },
        format: 'jwk',
      });
    }
  }
  return createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
}

/** A CSR that parsed and whose key is accepted; its signature is not yet checked. */
interface DecodedCsr {
  readonly csr: ParsedCsr;
  readonly infoDer: Buffer;
  readonly digest: string;
  readonly signature: Buffer;
}

function decodeCsr(pem: string): DecodedCsr {
  if (pem.length === 0) throw malformed('the request carries no CSR');
  if (pem.length > MAX_CSR_PEM_BYTES)
    throw malformed(`${pem.length} bytes is more than the ${MAX_CSR_PEM_BYTES} accepted`);
  let body: Buffer;
  try {
    body = pemBody(pem);
  } catch (err) {
    throw malformed(err instanceof Error ? err.message : String(err), err);
  }

  let infoDer: Buffer;
  let spkiDer: Buffer;
  let spkiNode: forge.asn1.Asn1;
  let digest: string;
  let signature: Buffer;
  const sans: Sans = { uris: [], dnsNames: [], ipAddresses: [], other: 0 };
  try {
    const [info, algorithm, signatureBits] = children(parseDer(body), 'CertificationRequest');
    const [version, subject, spki, attributes] = children(info, 'CertificationRequestInfo');
    if (primitive(version, 'version') !== '\x00') throw new Error('version is not v1 (0)');
    if (subject === undefined || spki === undefined) throw new Error('subjectPKInfo is missing');
    if (attributes !== undefined && !isContextTag(attributes, 0))
      throw new Error('attributes are not tagged [0]');
    readAttributes(attributes, sans);
    const algorithmOid = forge.asn1.derToOid(
      primitive(children(algorithm, 'signatureAlgorithm')[0], 'algorithm'),
    );
    const knownDigest = CSR_SIGNATURE_DIGESTS.get(algorithmOid);
    if (knownDigest === undefined) {
      throw new CaError('CA_CSR_KEY_UNSUPPORTED', `CSR signature algorithm ${algorithmOid} is not accepted`);
    }
    digest = knownDigest;
    signature = Buffer.from(primitive(signatureBits, 'signature').slice(1), 'binary');
    // The signed bytes and the key are sliced from the request as sent, not re-encoded.
    const outer = der.tlvAt(body, 0);
    const infoPos = der.tlvAt(body, outer.contentStart);
    infoDer = body.subarray(infoPos.start, infoPos.end);
    const versionPos = der.tlvAt(body, infoPos.contentStart);
    const subjectPos = der.tlvAt(body, versionPos.end);
    const spkiPos = der.tlvAt(body, subjectPos.end);
    spkiDer = body.subarray(spkiPos.start, spkiPos.end);
    spkiNode = spki;
  } catch (err) {
    if (err instanceof CaError) throw err;
    throw malformed(err instanceof Error ? err.message : String(err), err);
  }

  let publicKey: KeyObject;
  try {
    publicKey = importPublicKey(spkiNode, spkiDer);
  } catch (err) {
    if (err instanceof CaError) throw err;
    throw new CaError('CA_CSR_KEY_UNSUPPORTED', `CSR public key cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return {
    csr: {
      subjectPublicKeyInfoDer: spkiDer,
      publicKey,
      keyDescription: describeKey(publicKey),
      uris: sans.uris,
      dnsNames: sans.dnsNames,
      ipAddresses: sans.ipAddresses,
      otherSanCount: sans.other,
    },
    infoDer,
    digest,
    signature,
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;
const CSR_LABELS: ReadonlySet<string> = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

/**
 * The DER inside the request's single PEM block. The armour is read here
 * rather than with forge.pem, whose scanner costs more than the rest of the
 * parse; the ASN.1 inside still goes through forge.
 */
function pemBody(pem: string): Buffer {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const block = blocks[0];
  if (blocks.length !== 1 || block === undefined) {
    throw new Error(`expected one PEM block, found ${blocks.length}`);
  }
  const label = block[1] ?? '';
  if (!CSR_LABELS.has(label)) throw new Error(`PEM block is "${label}", not "CERTIFICATE REQUEST"`);
  const body = Buffer.from(block[2] ?? '', 'base64');
  if (body.length === 0) throw new Error('PEM block is empty');
  return body;
}

function signatureError(decoded: DecodedCsr, err: Error | null, valid: boolean): CaError | undefined {
  if (err !== null) {
    return new CaError('CA_CSR_SIGNATURE_INVALID', `CSR signature cannot be checked: ${err.message}`, {
      cause: err,
    });
  }
  if (!valid)
    return new CaError(
      'CA_CSR_SIGNATURE_INVALID',
      `CSR signature does not verify with its own ${decoded.csr.keyDescription} key`,
    );
  return undefined;
}

/**
 * Parses a PEM PKCS#10 CSR and checks it: one well-formed request, an
 * accepted key, a signature that verifies with that key. Throws a CaError
 * (CA_CSR_MALFORMED, CA_CSR_KEY_UNSUPPORTED, CA_CSR_SIGNATURE_INVALID).
 */
export function parseCsr(pem: string): ParsedCsr {
  const decoded = decodeCsr(pem);
  let valid = false;
  let failure: Error | null = null;
  try {
    valid = cryptoVerify(decoded.digest, decoded.infoDer, decoded.csr.publicKey, decoded.signature);
  } catch (err) {
    failure = err as Error;
  }
  const error = signatureError(decoded, failure, valid);
  if (error !== undefined) throw error;
  return decoded.csr;
}

/** parseCsr with the signature check on the thread pool (a CA verifies one per request). */
export function parseCsrAsync(pem: string): Promise<ParsedCsr> {
  let decoded: DecodedCsr;
  try {
    decoded = decodeCsr(pem);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return new Promise((resolve, reject) => {
    cryptoVerify(decoded.digest, decoded.infoDer, decoded.csr.publicKey, decoded.signature, (err, valid) => {
      const error = signatureError(decoded, err, valid);
      if (error === undefined) resolve(decoded.csr);
      else reject(error);
    });
  });
}

