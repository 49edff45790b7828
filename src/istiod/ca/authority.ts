/**
 * Generating CA certificates: the self-signed root istiod creates on first
 * start, and intermediates (for operators' and tests' plug-in layouts).
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { keyIdentifierOf } from './x509-read.js';
import {
  buildCertificate,
  extensions,
  KeyUsageBit,
  name,
  signatureAlgorithmFor,
  type CertificateIssuer,
} from './x509.js';

/**
 * Key types for a CA. RSA 2048 is istiod's default for its self-signed root
 * (CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE), so certificates and trust bundles
 * look the same to tools that inspect them; ECDSA P-256 is offered for
 * operators who want cheaper signatures.
 */
export type CaKeyType = 'rsa-2048' | 'ecdsa-p256';

export const DEFAULT_CA_KEY_TYPE: CaKeyType = 'rsa-2048';
/** istiod's self-signed root lives 10 years. */
export const DEFAULT_ROOT_TTL_SECONDS = 10 * 365 * 24 * 3600;

export function generateKey(keyType: CaKeyType): KeyObject {
  return keyType === 'rsa-2048'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

/** A CA certificate and its key, both PEM (key PKCS#8). */
export interface GeneratedAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly key: KeyObject;
}

export interface AuthorityOptions {
  /** Goes in the subject's O, as istiod names its root after the trust domain. */
  readonly trustDomain: string;
  readonly ttlSeconds?: number;
  readonly keyType?: CaKeyType;
  /** Optional subject CN (intermediates get one so chains are readable). */
  readonly commonName?: string;
  /** The parent that signs; absent for a self-signed root. */
  readonly parent?: { readonly issuer: CertificateIssuer; readonly keyId: Buffer };
  readonly now?: Date;
}

/** Creates a CA certificate: self-signed when no parent is given. */
export function generateAuthority(options: AuthorityOptions): GeneratedAuthority {
  const key = generateKey(options.keyType ?? DEFAULT_CA_KEY_TYPE);
  const spkiDer = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const keyId = keyIdentifierOf(spkiDer);
  const subjectDer = name({
    organization: options.trustDomain,
    ...(options.commonName === undefined ? {} : { commonName: options.commonName }),
  });
  const now = options.now ?? new Date();
  const issuer: CertificateIssuer = options.parent?.issuer ?? {
    nameDer: subjectDer,
    privateKey: key,
    algorithm: signatureAlgorithmFor(key),
  };
  const certPem = buildCertificate(
    {
      subjectDer,
      subjectPublicKeyInfoDer: spkiDer,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + (options.ttlSeconds ?? DEFAULT_ROOT_TTL_SECONDS) * 1000),
      extensions: [
        extensions.keyUsage([KeyUsageBit.digitalSignature, KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign]),
        extensions.basicConstraints(true),
        extensions.subjectKeyIdentifier(keyId),
        ...(options.parent === undefined ? [] : [extensions.authorityKeyIdentifier(options.parent.keyId)]),
      ],
    },
    issuer,
  );
  return { certPem, keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(), key };
}
