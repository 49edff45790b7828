/**
 * A test PKI: a root (optionally with an intermediate, Istio's plug-in
 * layout), workload credentials for SPIFFE ids, serving certificates for
 * TLS listeners on 127.0.0.1, CSRs, and `openssl verify` as an independent check.
 */
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCsr } from '../../src/shared/pki/index.js';
import {
  caMaterialFromPem,
  CertificateSigner,
  generateAuthority,
  type CaKeyType,
  type CaMaterial,
  type GeneratedAuthority,
  type NodeIdentityLookup,
  type SubjectAltNames,
} from '../../src/istiod/ca/index.js';
import { formatSpiffeId } from '../../src/shared/spiffe.js';

export type TestKeyType =
  'ec-p256' | 'ec-p384' | 'ec-p521' | 'rsa-1024' | 'rsa-2048' | 'rsa-3072' | 'ed25519';

/** A fresh private key of the given kind (some kinds exist to be refused by the CA). */
export function newKey(kind: TestKeyType = 'ec-p256'): KeyObject {
  switch (kind) {
    case 'ec-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    case 'ec-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    case 'ec-p521':
      return generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey;
    case 'rsa-1024':
      return generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'rsa-3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
  }
}

/** A CSR shaped like ztunnel's (empty subject, URI SANs) with its key. */
export function newCsr(
  sans: SubjectAltNames,
  kind: TestKeyType = 'ec-p256',
): { csrPem: string; key: KeyObject } {
  const key = newKey(kind);
  return { csrPem: createCsr(key, sans), key };
}

/** Key and certificates for one TLS endpoint. */
export interface TestCredential {
  readonly keyPem: string;
  readonly certPem: string;
  /** Leaf then intermediates: what a TLS endpoint presents. */
  readonly chainPem: string;
  readonly rootPem: string;
}

export interface TestPki {
  readonly trustDomain: string;
  /** The root that signs directly, or the root above the intermediate. */
  readonly root: GeneratedAuthority;
  /** Present when the PKI was created with an intermediate. */
  readonly intermediate?: GeneratedAuthority;
  readonly material: CaMaterial;
  readonly signer: CertificateSigner;
  readonly rootPem: string;
  /** A workload credential for a SPIFFE URI or {namespace, serviceAccount} in this trust domain. */
  issueWorkload(
    identity: string | { namespace: string; serviceAccount: string },
    ttlSeconds?: number,
  ): TestCredential;
  /** A serving credential; IP literals become IP SANs. */
  issueServing(names: readonly string[], ttlSeconds?: number): TestCredential;
}

export interface TestPkiOptions {
  readonly trustDomain?: string;
  /** CA key type; ECDSA P-256 by default because it is fast to generate. */
  readonly keyType?: CaKeyType;
  /** Sign with an intermediate below the root (Istio's plug-in CA layout). */
  readonly intermediate?: boolean;
}

/** Creates an in-memory PKI; nothing touches the disk. */
export function createTestPki(options: TestPkiOptions = {}): TestPki {
  const trustDomain = options.trustDomain ?? 'cluster.local';
  const keyType = options.keyType ?? 'ecdsa-p256';
  const root = generateAuthority({ trustDomain, keyType });
  let intermediate: GeneratedAuthority | undefined;
  let material = caMaterialFromPem({
    trustDomain,
    source: 'in-memory',
    caCertPem: root.certPem,
    caKeyPem: root.keyPem,
  });
  if (options.intermediate === true) {
    intermediate = generateAuthority({
      trustDomain,
      keyType,
      commonName: 'intermediate',
      ttlSeconds: 365 * 24 * 3600,
      parent: { issuer: material.issuer, keyId: material.keyId },
    });
    material = caMaterialFromPem({
      trustDomain,
      source: 'in-memory',
      caCertPem: intermediate.certPem,
      caKeyPem: intermediate.keyPem,
      rootCertPem: root.certPem,
      certChainPem: intermediate.certPem + root.certPem,
    });
  }
  const signer = new CertificateSigner(material);
  const credential = (certPem: string, key: KeyObject): TestCredential => ({
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    certPem,
    chainPem: [certPem, ...material.intermediatePems].join(''),
    rootPem: signer.rootPem,
  });
  return {
    trustDomain,
    root,
    ...(intermediate === undefined ? {} : { intermediate }),
    material,
    signer,
    rootPem: signer.rootPem,
    issueWorkload(identity, ttlSeconds = 3600) {
      const uri = typeof identity === 'string' ? identity : formatSpiffeId({ trustDomain, ...identity });
      const key = newKey('ec-p256');
      const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
      return credential(signer.issueWorkloadCertificateSync(spki, uri, ttlSeconds).certPem, key);
    },
    issueServing(names, ttlSeconds = 3600) {
      const serving = signer.issueServingCertificate(names, ttlSeconds);
      return {
        keyPem: serving.keyPem,
        certPem: serving.certPem,
        chainPem: serving.chainPem,
        rootPem: serving.rootPem,
      };
    },
  };
}

/** Writes a PKI with an intermediate as Istio's plug-in CA directory (ca-cert, ca-key, cert-chain, root-cert). */
export async function writePluginCaDir(dir: string, pki: TestPki): Promise<void> {
  if (pki.intermediate === undefined)
    throw new Error('writePluginCaDir needs a PKI created with { intermediate: true }');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'ca-cert.pem'), pki.intermediate.certPem);
  await fs.writeFile(path.join(dir, 'ca-key.pem'), pki.intermediate.keyPem, { mode: 0o600 });
  await fs.writeFile(path.join(dir, 'cert-chain.pem'), pki.intermediate.certPem + pki.root.certPem);
  await fs.writeFile(path.join(dir, 'root-cert.pem'), pki.root.certPem);
}

/** A NodeIdentityLookup over a fixed map node -> SPIFFE URIs. */
export function staticNodeIdentities(
  byNode: Readonly<Record<string, readonly string[]>>,
): NodeIdentityLookup {
  const sets = new Map(Object.entries(byNode).map(([node, ids]) => [node, new Set(ids)]));
  return { identitiesOnNode: (node) => sets.get(node) ?? new Set<string>() };
}

/** Runs a command to completion (bounded by a timeout); resolves with exit code and combined output. */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs = 15_000,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === null ? -1 : 128), output }));
  });
}

/**
 * `openssl verify -CAfile root [-untrusted intermediates] leaf` in a temp
 * directory that is removed afterwards. A missing openssl rejects (the test fails).
 */
export async function opensslVerify(
  rootPem: string,
  intermediatesPem: string,
  leafPem: string,
): Promise<{ ok: boolean; output: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ambit-ca-verify-'));
  try {
    const root = path.join(dir, 'root.pem');
    const leaf = path.join(dir, 'leaf.pem');
    const untrusted = path.join(dir, 'untrusted.pem');
    await fs.writeFile(root, rootPem);
    await fs.writeFile(leaf, leafPem);
    const args = ['verify', '-CAfile', root];
    if (intermediatesPem !== '') {
      await fs.writeFile(untrusted, intermediatesPem);
      args.push('-untrusted', untrusted);
    }
    args.push(leaf);
    const { code, output } = await run('openssl', args);
    return { ok: code === 0 && output.includes(': OK'), output };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
