/**
 * Issuing certificates from the CA's material: SPIFFE workload certificates
 * (the fields Istio's CA gives them) and istiod's own serving certificate.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import type { CaMaterial } from './material.js';
import {
  buildCertificate,
  buildCertificateAsync,
  extensions,
  KeyUsageBit,
  name,
  randomSerial,
  type CertificateTemplate,
} from './x509.js';

/** DEFAULT_WORKLOAD_CERT_TTL: 24 h. */
export const DEFAULT_WORKLOAD_CERT_TTL_SECONDS = 24 * 3600;
/** MAX_WORKLOAD_CERT_TTL: 90 d. */
export const MAX_WORKLOAD_CERT_TTL_SECONDS = 90 * 24 * 3600;
/** notBefore is set this far in the past so that peers whose clocks lag a little accept a fresh certificate. */
export const NOT_BEFORE_BACKDATE_SECONDS = 60;
/** istiod's serving certificate TTL when none is given: one year. */
export const DEFAULT_SERVING_CERT_TTL_SECONDS = 365 * 24 * 3600;

export interface SignerOptions {
  readonly defaultTtlSeconds?: number;
  readonly maxTtlSeconds?: number;
  /** Clock for tests; milliseconds since the epoch. */
  readonly now?: () => number;
}

/** A signed leaf and the chain a client gets for it. */
export interface IssuedCertificate {
  readonly certPem: string;
  /** [leaf, intermediates..., root bundle]: one PEM per element, the last holding every root. */
  readonly certChain: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A serving certificate with its key, shaped for TLS servers. */
export interface ServingCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** Leaf then intermediates, concatenated: what a TLS server presents. */
  readonly chainPem: string;
  /** The root bundle clients verify with. */
  readonly rootPem: string;
  readonly notAfter: Date;
}

export class CertificateSigner {
  readonly material: CaMaterial;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  private readonly now: () => number;
  private readonly rootBundle: string;
  private readonly workloadExtensions: readonly Buffer[];

  constructor(material: CaMaterial, options: SignerOptions = {}) {
    this.material = material;
    this.defaultTtlSeconds = options.defaultTtlSeconds ?? DEFAULT_WORKLOAD_CERT_TTL_SECONDS;
    this.maxTtlSeconds = options.maxTtlSeconds ?? MAX_WORKLOAD_CERT_TTL_SECONDS;
    this.now = options.now ?? Date.now;
    this.rootBundle = material.rootPems.join('');
    // Identical on every workload certificate, so encoded once.
    this.workloadExtensions = [
      extensions.keyUsage([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]),
      extensions.serverAndClientAuth(),
      extensions.basicConstraints(false),
      extensions.authorityKeyIdentifier(material.keyId),
    ];
  }

  /** The root bundle (all trust anchors, concatenated PEM). */
  get rootPem(): string {
    return this.rootBundle;
  }

  /**
   * The lifetime actually granted: the default for zero or negative
   * requests, at most the maximum (a longer request is shortened, not
   * refused). The CA chain's own expiry caps notAfter separately.
   */
  grantedTtlSeconds(requestedSeconds: number): number {
    if (!Number.isFinite(requestedSeconds) || requestedSeconds <= 0) return this.defaultTtlSeconds;
    return Math.min(Math.floor(requestedSeconds), this.maxTtlSeconds);
  }

  private validity(ttlSeconds: number): { notBefore: Date; notAfter: Date } {
    const now = this.now();
    const notAfterMs = Math.min(now + ttlSeconds * 1000, this.material.chainNotAfter.getTime());
    return { notBefore: new Date(now - NOT_BEFORE_BACKDATE_SECONDS * 1000), notAfter: new Date(notAfterMs) };
  }

  private workloadTemplate(
    subjectPublicKeyInfoDer: Buffer,
    identity: string,
    requestedTtlSeconds: number,
  ): CertificateTemplate {
    const { notBefore, notAfter } = this.validity(this.grantedTtlSeconds(requestedTtlSeconds));
    return {
      // Istio's workload certificates have an empty subject; the identity is the critical URI SAN.
      subjectDer: name({}),
      subjectPublicKeyInfoDer,
      notBefore,
      notAfter,
      serial: randomSerial(),
      extensions: [...this.workloadExtensions, extensions.subjectAltName({ uris: [identity] }, true)],
    };
  }

  private issued(certPem: string, template: CertificateTemplate): IssuedCertificate {
    return {
      certPem,
      certChain: [certPem, ...this.material.intermediatePems, this.rootBundle],
      notBefore: template.notBefore,
      notAfter: template.notAfter,
    };
  }

  /**
   * Signs a workload certificate for `identity` (a SPIFFE URI, already
   * authorized) over the given public key; the signature runs on the thread pool.
   */
  async issueWorkloadCertificate(
    subjectPublicKeyInfoDer: Buffer,
    identity: string,
    requestedTtlSeconds: number,
  ): Promise<IssuedCertificate> {
    const template = this.workloadTemplate(subjectPublicKeyInfoDer, identity, requestedTtlSeconds);
    return this.issued(await buildCertificateAsync(template, this.material.issuer), template);
  }

  /** The same, signing on the calling thread. */
  issueWorkloadCertificateSync(
    subjectPublicKeyInfoDer: Buffer,
    identity: string,
    requestedTtlSeconds: number,
  ): IssuedCertificate {
    const template = this.workloadTemplate(subjectPublicKeyInfoDer, identity, requestedTtlSeconds);
    return this.issued(buildCertificate(template, this.material.issuer), template);
  }

  /**
   * A TLS serving certificate with a fresh ECDSA P-256 key, e.g. for istiod's
   * 15012 listener: names that are IP literals become IP SANs, the others DNS
   * SANs (`istiod.istio-system.svc`, `localhost`, `127.0.0.1`).
   */
  issueServingCertificate(
    names: readonly string[],
    ttlSeconds: number = DEFAULT_SERVING_CERT_TTL_SECONDS,
  ): ServingCertificate {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const { notBefore, notAfter } = this.validity(ttlSeconds);
    const dnsNames = names.filter((n) => isIP(n) === 0);
    const ipAddresses = names.filter((n) => isIP(n) !== 0);
    const certPem = buildCertificate(
      {
        subjectDer: name({}),
        subjectPublicKeyInfoDer: createPublicKey(key).export({ format: 'der', type: 'spki' }),
        notBefore,
        notAfter,
        extensions: [...this.workloadExtensions, extensions.subjectAltName({ dnsNames, ipAddresses }, true)],
      },
      this.material.issuer,
    );
    return {
      certPem,
      keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      chainPem: [certPem, ...this.material.intermediatePems].join(''),
      rootPem: this.rootBundle,
      notAfter,
    };
  }
}
