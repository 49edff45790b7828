/**
 * Workload certificates of the pods this node agent serves, one per SPIFFE
 * identity: an ECDSA P-256 key and a CSR per fetch, CreateCertificate at
 * istiod on behalf of the identity, the answer checked and kept in memory
 * only. Certificates are refreshed at half their remaining life (with
 * jitter); failures are retried with per-identity exponential backoff
 * capped at 150 s while an unexpired certificate stays in use. Identities
 * are reference counted by the pods that use them and dropped with the last.
 * Every certificate issued for a held identity, each renewal included, is
 * announced to the `onIssued` listeners, so that the listeners serving it
 * switch to it before the previous one expires.
 */
import { generateKeyPair as generateKeyPairCb, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { Gauge, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createCsr } from '../../shared/pki/index.js';
import { errorMessage } from '../../shared/errors.js';
import { silentLogger } from '../../shared/logging.js';
import { parseSpiffeId } from '../../shared/spiffe.js';
import type { CaClient } from './ca-client.js';
import { acceptChain, splitPem, type WorkloadCertificate } from './certificate.js';
import { IdentityError } from './errors.js';

const generateKeyPair = promisify(generateKeyPairCb);

/** SECRET_TTL: what the agent asks for (istiod may cap it). */
export const DEFAULT_CERT_TTL_SECONDS = 24 * 3600;
export const DEFAULT_INITIAL_RETRY_MS = 500;
/** ztunnel's cap on the per-identity retry backoff. */
export const DEFAULT_MAX_RETRY_MS = 150_000;
/** Refreshes are moved earlier by up to this share of the lifetime so that pods issued together do not renew together. */
export const REFRESH_JITTER_FRACTION = 0.05;
/** No refresh is scheduled sooner than this after the last one (a very short certificate would otherwise spin). */
export const MIN_REFRESH_MS = 100;

/** Timers, swappable for a fake clock in tests. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface CertificateManagerOptions {
  readonly ca: CaClient;
  readonly ttlSeconds?: number;
  readonly initialRetryMs?: number;
  readonly maxRetryMs?: number;
  readonly scheduler?: Scheduler;
  /** Uniform in [0, 1). */
  readonly random?: () => number;
  readonly registry?: Registry;
  readonly logger?: Logger;
}

export type CertificateState = 'Available' | 'Initializing' | 'Unavailable';

/** Told of each certificate issued for a held identity (the first one and every renewal). */
export type CertificateListener = (cert: WorkloadCertificate) => void;

export interface CertificateDump {
  readonly identity: string;
  /** `Available`, `Initializing`, or `Unavailable: <last error>`. */
  readonly state: string;
  readonly refs: number;
  readonly serialNumber: string | undefined;
  readonly notBefore: string | undefined;
  readonly notAfter: string | undefined;
  /** ISO 8601 time of the next refresh or retry. */
  readonly nextAttempt: string | undefined;
  readonly failures: number;
  readonly certChain: readonly string[];
  readonly rootCerts: readonly string[];
}

interface Entry {
  readonly identity: string;
  refs: number;
  cert: WorkloadCertificate | undefined;
  inFlight: Promise<WorkloadCertificate> | undefined;
  timer: unknown;
  nextAttemptMs: number | undefined;
  failures: number;
  lastError: string | undefined;
  dropped: boolean;
}

export class CertificateManager {
  private readonly ca: CaClient;
  private readonly ttlSeconds: number;
  private readonly initialRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly clock: Scheduler;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry>();
  /** Fetches for identities no pod retains: shared by concurrent callers, not kept. */
  private readonly oneOff = new Map<string, Promise<WorkloadCertificate>>();
  private latestRootPem: string | undefined;
  private readonly listeners = new Set<CertificateListener>();
  private closed = false;

  constructor(options: CertificateManagerOptions) {
    this.ca = options.ca;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_CERT_TTL_SECONDS;
    this.initialRetryMs = options.initialRetryMs ?? DEFAULT_INITIAL_RETRY_MS;
    this.maxRetryMs = options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS;
    this.clock = options.scheduler ?? realScheduler;
    this.random = options.random ?? Math.random;
    this.log = (options.logger ?? silentLogger).child({ component: 'identity' });
    const registry = options.registry ?? new Registry();
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'istio_agent_cert_expiry_seconds',
      help: 'The time remaining, in seconds, before the workload certificate expires',
      labelNames: ['resource_name'],
      registers: [registry],
      collect() {
        this.reset();
        const now = self.clock.now();
        for (const e of self.entries.values()) {
          if (e.cert !== undefined) this.set({ resource_name: e.identity }, (e.cert.notAfter.getTime() - now) / 1000);
        }
      },
    });
  }

  /**
   * A pod with this identity is on the node: count it, and fetch the
   * certificate in the background the first time (the pod's first
   * connection then finds it ready).
   */
  retain(identity: string): void {
    this.checkOpen();
    checkIdentity(identity);
    let entry = this.entries.get(identity);
    if (entry === undefined) {
      entry = {
        identity,
        refs: 0,
        cert: undefined,
        inFlight: undefined,
        timer: undefined,
        nextAttemptMs: undefined,
        failures: 0,
        lastError: undefined,
        dropped: false,
      };
      this.entries.set(identity, entry);
      this.attempt(entry).catch(() => undefined);
    }
    entry.refs++;
  }

  /**
   * Registers a listener told of every certificate issued for a held
   * identity, after it became the one `fetchCertificate` returns; returns
   * the unsubscribe function. A listener that throws is logged and does not
   * stop the others.
   */
  onIssued(listener: CertificateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A pod with this identity left; the certificate and its key are dropped with the last one. */
  release(identity: string): void {
    const entry = this.entries.get(identity);
    if (entry === undefined) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.drop(entry);
    this.log.info({ identity }, 'workload certificate dropped');
  }

  /** The held, unexpired certificate of an identity, if any. */
  findCertificate(identity: string): WorkloadCertificate | undefined {
    const cert = this.entries.get(identity)?.cert;
    return cert !== undefined && cert.notAfter.getTime() > this.clock.now() ? cert : undefined;
  }

  /**
   * The certificate of an identity, fetching it if none is held or it
   * expired. Concurrent callers share one CA request.
   */
  fetchCertificate(identity: string): Promise<WorkloadCertificate> {
    try {
      this.checkOpen();
      checkIdentity(identity);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const held = this.findCertificate(identity);
    if (held !== undefined) return Promise.resolve(held);
    const entry = this.entries.get(identity);
    if (entry !== undefined) return entry.inFlight ?? this.attempt(entry);
    let p = this.oneOff.get(identity);
    if (p === undefined) {
      p = this.issue(identity).finally(() => this.oneOff.delete(identity));
      this.oneOff.set(identity, p);
    }
    return p;
  }

  /** The mesh root bundle (PEM) from the latest CA answer: the trust anchors for peer verification. */
  get rootPem(): string | undefined {
    return this.latestRootPem;
  }

  state(identity: string): CertificateState | undefined {
    const e = this.entries.get(identity);
    if (e === undefined) return undefined;
    if (this.findCertificate(identity) !== undefined) return 'Available';
    return e.lastError === undefined ? 'Initializing' : 'Unavailable';
  }

  /** The `certificates` section of `/config_dump`, sorted by identity. */
  dump(): CertificateDump[] {
    return [...this.entries.values()]
      .sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0))
      .map((e) => {
        const state = this.state(e.identity) ?? 'Initializing';
        const cert = e.cert;
        return {
          identity: e.identity,
          state: state === 'Unavailable' ? `Unavailable: ${e.lastError}` : state,
          refs: e.refs,
          serialNumber: cert?.serialHex,
          notBefore: cert?.notBefore.toISOString(),
          notAfter: cert?.notAfter.toISOString(),
          nextAttempt: e.nextAttemptMs === undefined ? undefined : new Date(e.nextAttemptMs).toISOString(),
          failures: e.failures,
          certChain: cert === undefined ? [] : cert.chain.slice(0, -1),
          rootCerts: cert === undefined ? [] : splitPem(cert.rootPem),
        };
      });
  }

  /** Identities held, sorted. */
  identities(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Stops every timer and drops every certificate; later calls fail with IDENTITY_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of [...this.entries.values()]) this.drop(e);
    this.ca.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new IdentityError('IDENTITY_CLOSED', 'certificate manager is closed');
  }

  private drop(entry: Entry): void {
    entry.dropped = true;
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.nextAttemptMs = undefined;
    entry.cert = undefined;
    if (this.entries.get(entry.identity) === entry) this.entries.delete(entry.identity);
  }

  /** One key, one CSR, one CA call, one checked answer. */
  private async issue(identity: string): Promise<WorkloadCertificate> {
    const { privateKey } = await generateKeyPair('ec', { namedCurve: 'P-256' });
    const csrPem = createCsr(privateKey as KeyObject, { uris: [identity] });
    const chain = await this.ca.createCertificate({ csrPem, identity, ttlSeconds: this.ttlSeconds });
    const cert = acceptChain(identity, chain, privateKey as KeyObject);
    if (!this.closed) this.latestRootPem = cert.rootPem;
    return cert;
  }

  private attempt(entry: Entry): Promise<WorkloadCertificate> {
    if (entry.inFlight !== undefined) return entry.inFlight;
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.nextAttemptMs = undefined;
    const p = this.issue(entry.identity).then(
      (cert) => {
        entry.inFlight = undefined;
        if (entry.dropped) return cert;
        entry.cert = cert;
        entry.failures = 0;
        entry.lastError = undefined;
        this.schedule(entry, this.refreshDelayMs(cert));
        this.log.info(
          { identity: entry.identity, serial: cert.serialHex, notAfter: cert.notAfter.toISOString() },
          'workload certificate issued',
        );
        this.announce(cert);
        return cert;
      },
      (err: unknown) => {
        entry.inFlight = undefined;
        if (entry.dropped) throw err;
        entry.failures++;
        entry.lastError = errorMessage(err);
        const delayMs = this.retryDelayMs(entry.failures);
        this.schedule(entry, delayMs);
        const fields = { identity: entry.identity, failures: entry.failures, retryInMs: delayMs, err: entry.lastError };
        // Still covered by an unexpired certificate: degraded, not yet an outage.
        if (this.findCertificate(entry.identity) !== undefined) this.log.warn(fields, 'workload certificate refresh failed');
        else this.log.error(fields, 'workload certificate fetch failed');
        throw err;
      },
    );
    entry.inFlight = p;
    return p;
  }

  private announce(cert: WorkloadCertificate): void {
    for (const l of [...this.listeners]) {
      try {
        l(cert);
      } catch (err) {
        this.log.error({ identity: cert.identity, err: errorMessage(err) }, 'certificate listener failed');
      }
    }
  }

  private schedule(entry: Entry, delayMs: number): void {
    if (this.closed || entry.dropped) return;
    entry.nextAttemptMs = this.clock.now() + delayMs;
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      this.attempt(entry).catch(() => undefined);
    }, delayMs);
  }

  /**
   * Half of the remaining life, measured from when the certificate became
   * usable here: istiod backdates notBefore (clock skew), which would pull
   * a short certificate's half-life into the past.
   */
  private refreshDelayMs(cert: WorkloadCertificate): number {
    const now = this.clock.now();
    const start = Math.max(cert.notBefore.getTime(), now);
    const lifeMs = cert.notAfter.getTime() - start;
    const refreshAt = start + lifeMs * (0.5 - REFRESH_JITTER_FRACTION * this.random());
    return Math.max(MIN_REFRESH_MS, refreshAt - now);
  }

  private retryDelayMs(failures: number): number {
    const base = Math.min(this.maxRetryMs, this.initialRetryMs * 2 ** Math.min(30, failures - 1));
    return Math.min(this.maxRetryMs, Math.round(base * (0.5 + this.random())));
  }
}

function checkIdentity(identity: string): void {
  try {
    parseSpiffeId(identity);
  } catch (err) {
    throw new IdentityError('IDENTITY_INVALID', errorMessage(err), { cause: err });
  }
}
