/**
 * Creating a PKCS#10 certificate request: what a node agent sends the CA
 * (istiod parses and verifies it in istiod/ca/csr.ts).
 */
import { createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as der from './der.js';
import { generalNames, signatureAlgorithmFor, type SubjectAltNames } from './x509-names.js';

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/**
 * Builds a PEM CSR signed by `privateKey`, with an empty subject and the
 * given SANs in an extensionRequest, the shape ztunnel sends (ECDSA P-256,
 * SHA-256, one URI SAN, no CN).
 */
export function createCsr(privateKey: KeyObject, sans: SubjectAltNames): string {
  const spkiDer = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const extensionRequest = der.sequence(
    der.oid(OID_EXTENSION_REQUEST),
    der.set(der.sequence(der.sequence(der.oid(OID_SUBJECT_ALT_NAME), der.octetString(generalNames(sans))))),
  );
  const info = der.sequence(der.smallInteger(0), der.sequence(), spkiDer, der.tlv(0xa0, extensionRequest));
  const algorithm = signatureAlgorithmFor(privateKey);
  const signature = cryptoSign(algorithm.digest, info, privateKey);
  return der.toPem(
    'CERTIFICATE REQUEST',
    der.sequence(info, algorithm.algorithmIdentifier, der.bitString(signature)),
  );
}
