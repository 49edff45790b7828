/**
 * The CA's key material: loaded from a directory (istiod's self-signed
 * layout, or Istio's plug-in CA layout), or created there on first start.
 *
 * Files (Istio's names):
 *   ca-cert.pem     the signing certificate (the root itself when self-signed)
 *   ca-key.pem      its private key, mode 0600
 *   root-cert.pem   the trust anchor(s) handed to every client
 *   cert-chain.pem  plug-in only: the signing cert's chain up to the root
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import type { Logger } from '../../shared/logging.js';
import {
  DEFAULT_CA_KEY_TYPE,
  DEFAULT_ROOT_TTL_SECONDS,
  generateAuthority,
  type CaKeyType,
} from './authority.js';
import { CaError } from './errors.js';
import { certificateParts, keyIdentifierOf } from './x509-read.js';
import { signatureAlgorithmFor, type CertificateIssuer } from './x509.js';

export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';

/** Everything the signer needs, validated. */
export interface CaMaterial {
  readonly trustDomain: string;
  /** Where it came from: created here, reused from an earlier start, or supplied by the operator. */
  readonly source: 'created' | 'self-signed' | 'plugged-in' | 'in-memory';
  readonly signingCert: X509Certificate;
  readonly signingKey: KeyObject;
  readonly issuer: CertificateIssuer;
  /** The signing cert's key identifier: the AuthorityKeyIdentifier of what it issues. */
  readonly keyId: Buffer;
  /**
   * Certificates between an issued leaf and the root, nearest first (PEM,
   * each ending with a newline): empty for a self-signed root, the signing
   * cert and any further intermediates for a plug-in CA.
   */
  readonly intermediatePems: readonly string[];
  /** The trust anchors, one PEM each; the chain's last element joins them. */
  readonly rootPems: readonly string[];
  /** The earliest expiry among the signing cert and its intermediates: no leaf outlives it. */
  readonly chainNotAfter: Date;
  /** The earliest expiry among the roots. */
  readonly rootNotAfter: Date;
}

function splitPem(text: string, file: string): string[] {
  let blocks: forge.pem.ObjectPEM[];
  try {
    blocks = forge.pem.decode(text);
  } catch (err) {
    throw new CaError('CA_MATERIAL_INVALID', `${file}: not valid PEM: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const certs = blocks
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => forge.pem.encode(b, { maxline: 64 }).replace(/\r\n/g, '\n'));
  if (certs.length === 0) throw new CaError('CA_MATERIAL_INVALID', `${file}: holds no CERTIFICATE block`);
  return certs;
}

function parseCert(pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CaError(
      'CA_MATERIAL_INVALID',
      `${file}: certificate cannot be parsed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function notAfterOf(cert: X509Certificate): Date {
  return new Date(cert.validTo);
}

/** A certificate's name for messages: its subject, or its serial when the subject is empty. */
function describeCert(cert: X509Certificate): string {
  const subject = (cert.subject as string | undefined)?.replace(/\n/g, ', ');
  return subject ? `"${subject}"` : `with serial ${cert.serialNumber} (empty subject)`;
}

function checkCaCert(cert: X509Certificate, file: string, now: Date): void {
  if (!cert.ca)
    throw new CaError(
      'CA_MATERIAL_INVALID',
      `${file}: certificate ${describeCert(cert)} is not a CA (basicConstraints CA:TRUE missing)`,
    );
  const notAfter = notAfterOf(cert);
  if (notAfter.getTime() <= now.getTime()) {
    throw new CaError('CA_MATERIAL_INVALID', `${file}: certificate expired at ${notAfter.toISOString()}`);
  }
}

/** The PEM inputs of a CA, with the file names they came from (for messages). */
export interface CaPemInputs {
  readonly trustDomain: string;
  readonly source: CaMaterial['source'];
  readonly caCertPem: string;
  readonly caKeyPem: string;
  /** The root bundle; defaults to the CA cert itself (self-signed root). */
  readonly rootCertPem?: string;
  readonly certChainPem?: string;
  readonly dir?: string;
  readonly now?: Date;
}

/**
 * Validates a CA from PEM: the key matches the cert, every cert is a CA and
 * unexpired, and the signing cert chains through cert-chain.pem to one of
 * the roots. Throws CA_MATERIAL_INVALID naming the file.
 */
export function caMaterialFromPem(input: CaPemInputs): CaMaterial {
  const where = (file: string): string => (input.dir === undefined ? file : path.join(input.dir, file));
  const now = input.now ?? new Date();
  const caCertPem = splitPem(input.caCertPem, where(CA_CERT_FILE))[0] as string;
  const signingCert = parseCert(caCertPem, where(CA_CERT_FILE));
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(input.caKeyPem);
  } catch (err) {
    throw new CaError(
      'CA_MATERIAL_INVALID',
      `${where(CA_KEY_FILE)}: private key cannot be parsed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!signingCert.checkPrivateKey(signingKey)) {
    throw new CaError(
      'CA_MATERIAL_INVALID',
      `${where(CA_KEY_FILE)}: private key does not match the certificate in ${where(CA_CERT_FILE)}`,
    );
  }
  checkCaCert(signingCert, where(CA_CERT_FILE), now);

  const rootPems =
    input.rootCertPem === undefined ? [caCertPem] : splitPem(input.rootCertPem, where(ROOT_CERT_FILE));
  const roots = rootPems.map((pem) => parseCert(pem, where(ROOT_CERT_FILE)));
  for (const root of roots) checkCaCert(root, where(ROOT_CERT_FILE), now);
  const isRoot = (cert: X509Certificate): boolean => roots.some((r) => r.raw.equals(cert.raw));

  const intermediatePems: string[] = [];
  if (!isRoot(signingCert)) {
    intermediatePems.push(caCertPem);
    const chainPems =
      input.certChainPem === undefined ? [] : splitPem(input.certChainPem, where(CERT_CHAIN_FILE));
    for (const pem of chainPems) {
      const cert = parseCert(pem, where(CERT_CHAIN_FILE));
      if (cert.raw.equals(signingCert.raw) || isRoot(cert)) continue;
      checkCaCert(cert, where(CERT_CHAIN_FILE), now);
      intermediatePems.push(pem);
    }
    // Each link must be signed by the next, and the last by a root.
    const path_ = intermediatePems.map((pem) => new X509Certificate(pem));
    for (let i = 0; i < path_.length; i++) {
      const cert = path_[i] as X509Certificate;
      const next = path_[i + 1];
      const signedBy =
        next === undefined
          ? roots.find((r) => cert.verify(r.publicKey))
          : cert.verify(next.publicKey)
            ? next
            : undefined;
      if (signedBy === undefined) {
        const file = i === 0 ? CA_CERT_FILE : CERT_CHAIN_FILE;
        const by =
          next === undefined
            ? `any root in ${where(ROOT_CERT_FILE)}`
            : `the next certificate in ${where(CERT_CHAIN_FILE)}`;
        throw new CaError(
          'CA_MATERIAL_INVALID',
          `${where(file)}: certificate ${describeCert(cert)} is not signed by ${by}`,
        );
      }
    }
  }

  const parts = certificateParts(signingCert.raw);
  const chainNotAfter = new Date(
    Math.min(
      ...[signingCert, ...intermediatePems.map((p) => new X509Certificate(p))].map((c) =>
        notAfterOf(c).getTime(),
      ),
    ),
  );
  return {
    trustDomain: input.trustDomain,
    source: input.source,
    signingCert,
    signingKey,
    issuer: {
      nameDer: parts.subjectDer,
      privateKey: signingKey,
      algorithm: signatureAlgorithmFor(signingKey),
    },
    keyId: parts.subjectKeyId ?? keyIdentifierOf(parts.subjectPublicKeyInfoDer),
    intermediatePems,
    rootPems,
    chainNotAfter,
    rootNotAfter: new Date(Math.min(...roots.map((r) => notAfterOf(r).getTime()))),
  };
}

export interface LoadCaOptions {
  readonly caDir: string;
  readonly trustDomain: string;
  readonly rootTtlSeconds?: number;
  readonly keyType?: CaKeyType;
  readonly logger: Logger;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaError('CA_MATERIAL_INVALID', `${file}: cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, content, { mode });
  await fs.chmod(tmp, mode); // writeFile's mode passes through the umask; chmod sets it exactly
  await fs.rename(tmp, file);
}

/**
 * Loads the CA from `caDir`, or creates a self-signed root there when the
 * directory holds no CA yet. ca-cert.pem is written last, so it marks a
 * complete CA: a ca-key.pem without it is refused rather than overwritten.
 */
export async function loadOrCreateCaMaterial(options: LoadCaOptions): Promise<CaMaterial> {
  const log = options.logger.child({ component: 'ca' });
  const dir = options.caDir;
  const file = (name: string): string => path.join(dir, name);
  const [caCertPem, caKeyPem, rootCertPem, certChainPem] = await Promise.all(
    [CA_CERT_FILE, CA_KEY_FILE, ROOT_CERT_FILE, CERT_CHAIN_FILE].map((n) => readIfExists(file(n))),
  );

  if (caCertPem !== undefined) {
    if (caKeyPem === undefined) {
      throw new CaError(
        'CA_MATERIAL_INVALID',
        `${file(CA_KEY_FILE)}: missing, but ${file(CA_CERT_FILE)} exists (a CA needs both)`,
      );
    }
    const pluggedIn = certChainPem !== undefined;
    const material = caMaterialFromPem({
      trustDomain: options.trustDomain,
      source: pluggedIn ? 'plugged-in' : 'self-signed',
      caCertPem,
      caKeyPem,
      ...(rootCertPem === undefined ? {} : { rootCertPem }),
      ...(certChainPem === undefined ? {} : { certChainPem }),
      dir,
    });
    const mode = (await fs.stat(file(CA_KEY_FILE))).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      log.warn({ file: file(CA_KEY_FILE), mode: mode.toString(8) }, 'ca key readable by group or others');
    }
    log.info(
      {
        dir,
        source: material.source,
        intermediates: material.intermediatePems.length,
        roots: material.rootPems.length,
        chainNotAfter: material.chainNotAfter.toISOString(),
      },
      'ca loaded',
    );
    return material;
  }
  if (caKeyPem !== undefined) {
    throw new CaError(
      'CA_MATERIAL_INVALID',
      `${file(CA_KEY_FILE)}: exists without ${CA_CERT_FILE}; refusing to replace a key (remove it to create a new root)`,
    );
  }

  const keyType = options.keyType ?? DEFAULT_CA_KEY_TYPE;
  const root = generateAuthority({
    trustDomain: options.trustDomain,
    ttlSeconds: options.rootTtlSeconds ?? DEFAULT_ROOT_TTL_SECONDS,
    keyType,
  });
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(file(CA_KEY_FILE), root.keyPem, 0o600);
  await writeAtomically(file(ROOT_CERT_FILE), root.certPem, 0o644);
  await writeAtomically(file(CA_CERT_FILE), root.certPem, 0o644);
  const material = caMaterialFromPem({
    trustDomain: options.trustDomain,
    source: 'created',
    caCertPem: root.certPem,
    caKeyPem: root.keyPem,
    dir,
  });
  log.info({ dir, keyType, rootNotAfter: material.rootNotAfter.toISOString() }, 'ca root created');
  return material;
}
