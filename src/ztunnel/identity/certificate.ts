/**
 * A workload's issued certificate, checked and shaped for TLS: the leaf
 * must name exactly the identity asked for and carry our key, and the last
 * chain element is the mesh root bundle peers are verified against.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { errorMessage } from '../../shared/errors.js';
import { IdentityError } from './errors.js';

/** What a TLS context needs. */
export interface TlsMaterial {
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** Leaf then intermediates, concatenated (never the root). */
  readonly certChainPem: string;
  /** Every trust anchor of the mesh, concatenated. */
  readonly rootPem: string;
}

export interface WorkloadCertificate extends TlsMaterial {
  readonly identity: string;
  /** The chain as the CA returned it: `[leaf, intermediates..., root bundle]`. */
  readonly chain: readonly string[];
  readonly leaf: X509Certificate;
  /** Upper-case hex, as Node prints it. */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The URI SANs of a certificate, from Node's `subjectAltName` text ("URI:a, DNS:b"). */
export function uriSans(cert: X509Certificate): string[] {
  const text = cert.subjectAltName;
  if (text === undefined) return [];
  return text
    .split(/,\s*/)
    .filter((part) => part.startsWith('URI:'))
    .map((part) => part.slice('URI:'.length).replace(/^"|"$/g, ''));
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

function ensureNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/**
 * Checks a CreateCertificate answer for `identity` and our key, and builds
 * the certificate the agent serves with. Throws IDENTITY_BAD_RESPONSE or
 * IDENTITY_MISMATCH.
 */
export function acceptChain(identity: string, chain: readonly string[], key: KeyObject): WorkloadCertificate {
  if (chain.length < 2) {
    throw new IdentityError(
      'IDENTITY_BAD_RESPONSE',
      `CA answer for ${identity} holds ${chain.length} certificate(s); expected a leaf and the root bundle`,
    );
  }
  const leafPem = chain[0] as string;
  const rootPem = chain[chain.length - 1] as string;
  let leaf: X509Certificate;
  let issuer: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
    issuer = new X509Certificate(splitPem(chain[1] as string)[0] ?? (chain[1] as string));
  } catch (err) {
    throw new IdentityError('IDENTITY_BAD_RESPONSE', `CA answer for ${identity}: certificate unreadable: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const uris = uriSans(leaf);
  if (uris.length !== 1 || uris[0] !== identity) {
    throw new IdentityError(
      'IDENTITY_MISMATCH',
      `CA issued a certificate for ${uris.join(', ') || 'no URI SAN'} when ${identity} was requested`,
    );
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new IdentityError('IDENTITY_MISMATCH', `CA issued a certificate for ${identity} that does not carry the CSR's key`);
  }
  if (!leaf.verify(issuer.publicKey)) {
    throw new IdentityError('IDENTITY_BAD_RESPONSE', `CA answer for ${identity}: the leaf is not signed by the next certificate of the chain`);
  }
  return {
    identity,
    chain: [...chain],
    leaf,
    serialHex: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }) as string,
    certChainPem: chain.slice(0, -1).map(ensureNewline).join(''),
    rootPem: ensureNewline(rootPem),
  };
}
