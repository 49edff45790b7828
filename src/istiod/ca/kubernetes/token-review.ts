/**
 * CA caller authentication on Kubernetes: the node agent presents its
 * service-account token (audience `istio-ca`); a TokenReview proves it, the
 * service account must be one of the trusted node-agent accounts (Istio's
 * CA_TRUSTED_NODE_ACCOUNTS), and the caller's node is the node of the pod
 * the token is bound to. The CA then applies the usual impersonation rule:
 * only identities of workloads on that node.
 */
import { createHash } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from '../../../shared/logging.js';
import { CaError } from '../errors.js';
import type { Caller, CallerAuthenticator } from '../node-auth.js';
import { KubeCaError } from './errors.js';
import {
  asRecord,
  expectStatus,
  statusMessage,
  type KubeResponse,
  type KubeRestClient,
} from './rest-client.js';

/** The audience Istio's CA asks TokenReview for (TOKEN_AUDIENCES' default). */
export const DEFAULT_CA_TOKEN_AUDIENCES: readonly string[] = ['istio-ca'];
/** Node agents' service accounts trusted to impersonate workloads, as `namespace/name`. */
export const DEFAULT_TRUSTED_NODE_ACCOUNTS: readonly string[] = ['istio-system/ztunnel'];
/** A successful review is reused this long (never past the token's own expiry). */
export const DEFAULT_REVIEW_CACHE_TTL_MS = 60_000;
/** At most this many reviewed tokens are remembered; the oldest go first. */
export const DEFAULT_REVIEW_CACHE_MAX_ENTRIES = 4096;

/** `user.extra` keys the API server sets for pod-bound service-account tokens. */
export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';

const SA_USER_PREFIX = 'system:serviceaccount:';

/** A service account, `namespace/name`. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** Parses `ns/name` entries (CA_TRUSTED_NODE_ACCOUNTS' format, comma-separated in the variable). */
export function parseTrustedAccounts(value: string): ServiceAccountRef[] {
  const out: ServiceAccountRef[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(entry);
    if (m === null) {
      throw new KubeCaError(
        'KUBE_CA_CONFIG_INVALID',
        `trusted node account "${entry}": not of the form <namespace>/<service account>`,
      );
    }
    out.push({ namespace: m[1] as string, name: m[3] as string });
  }
  return out;
}

/** The bearer token of a call's metadata, or CA_UNAUTHENTICATED saying what is wrong. */
export function bearerToken(metadata: Metadata): string {
  const values = metadata.get('authorization');
  if (values.length === 0) {
    throw new CaError(
      'CA_UNAUTHENTICATED',
      'no authorization metadata: send "authorization: Bearer <service account token>"',
    );
  }
  const match = /^bearer\s+(\S+)\s*$/i.exec(String(values[0]));
  if (match === null || match[1] === undefined) {
    throw new CaError('CA_UNAUTHENTICATED', 'authorization metadata is not of the form "Bearer <token>"');
  }
  return match[1];
}

/** The `exp` claim of a JWT in milliseconds, when the token is a JWT that has one (not verified: only bounds caching). */
export function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims = asRecord(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')));
    const exp = claims?.['exp'];
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** What a successful TokenReview says about the caller. */
export interface ReviewedToken {
  readonly serviceAccount: ServiceAccountRef;
  readonly podName?: string;
  readonly podUid?: string;
}

function firstExtra(extra: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = extra?.[key];
  const first = Array.isArray(v) ? (v[0] as unknown) : v;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/**
 * Decodes a TokenReview answer's status: authenticated, for one of the
 * audiences asked for, as a service account. Throws CA_UNAUTHENTICATED otherwise.
 */
export function decodeTokenReviewStatus(body: unknown, audiences: readonly string[]): ReviewedToken {
  const status = asRecord(asRecord(body)?.['status']);
  if (status === undefined) {
    throw new CaError('CA_UNAUTHENTICATED', 'the TokenReview answer has no status');
  }
  const error = typeof status['error'] === 'string' ? status['error'] : '';
  if (status['authenticated'] !== true) {
    throw new CaError(
      'CA_UNAUTHENTICATED',
      `the token was not authenticated by the API server${error === '' ? '' : `: ${error}`}`,
    );
  }
  if (error !== '') throw new CaError('CA_UNAUTHENTICATED', `the token review reported an error: ${error}`);
  const granted = status['audiences'];
  if (audiences.length > 0 && Array.isArray(granted)) {
    if (!granted.some((a) => typeof a === 'string' && audiences.includes(a))) {
      throw new CaError(
        'CA_UNAUTHENTICATED',
        `the token is for audiences [${granted.join(', ')}], not for ${audiences.join(', ')}`,
      );
    }
  }
  const user = asRecord(status['user']);
  const username = typeof user?.['username'] === 'string' ? user['username'] : '';
  const parts = username.startsWith(SA_USER_PREFIX) ? username.slice(SA_USER_PREFIX.length).split(':') : [];
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new CaError(
      'CA_UNAUTHENTICATED',
      `the token belongs to "${username}", not to a service account (system:serviceaccount:<ns>:<name>)`,
    );
  }
  const extra = asRecord(user?.['extra']);
  const podName = firstExtra(extra, POD_NAME_EXTRA);
  const podUid = firstExtra(extra, POD_UID_EXTRA);
  return {
    serviceAccount: { namespace: parts[0] as string, name: parts[1] as string },
    ...(podName === undefined ? {} : { podName }),
    ...(podUid === undefined ? {} : { podUid }),
  };
}

export interface TokenReviewAuthenticatorOptions {
  readonly client: KubeRestClient;
  readonly audiences?: readonly string[];
  readonly trustedNodeAccounts?: readonly ServiceAccountRef[];
  readonly cacheTtlMs?: number;
  readonly cacheMaxEntries?: number;
  readonly logger: Logger;
  /** Clock for tests, milliseconds since the epoch. */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly caller: Caller;
  readonly expiresAtMs: number;
}

/**
 * CallerAuthenticator for node agents on Kubernetes. Successful answers are
 * cached (keyed by the token's SHA-256, bounded in size and age) and
 * concurrent calls with one token share one review, so a node agent
 * fetching many certificates costs one TokenReview and one Pod read.
 */
export class TokenReviewAuthenticator implements CallerAuthenticator {
  private readonly client: KubeRestClient;
  private readonly audiences: readonly string[];
  private readonly trusted: ReadonlySet<string>;
  private readonly cacheTtlMs: number;
  private readonly cacheMaxEntries: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<Caller>>();
  /** TokenReviews sent (for tests and debugging). */
  reviews = 0;

  constructor(options: TokenReviewAuthenticatorOptions) {
    this.client = options.client;
    this.audiences = options.audiences ?? DEFAULT_CA_TOKEN_AUDIENCES;
    const accounts =
      options.trustedNodeAccounts ?? parseTrustedAccounts(DEFAULT_TRUSTED_NODE_ACCOUNTS.join(','));
    this.trusted = new Set(accounts.map((a) => `${a.namespace}/${a.name}`));
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_REVIEW_CACHE_TTL_MS;
    this.cacheMaxEntries = Math.max(0, options.cacheMaxEntries ?? DEFAULT_REVIEW_CACHE_MAX_ENTRIES);
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'ca-kube-auth' });
  }

  /** Number of cached reviews. */
  get cacheSize(): number {
    return this.cache.size;
  }

  authenticate(metadata: Metadata): Promise<Caller> {
    let token: string;
    try {
      token = bearerToken(metadata);
    } catch (err) {
      return Promise.reject(err);
    }
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      if (hit.expiresAtMs > now) return Promise.resolve(hit.caller);
      this.cache.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const review = this.review(token).then(
      (caller) => {
        this.inFlight.delete(key);
        this.remember(key, token, caller);
        return caller;
      },
      (err: unknown) => {
        this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, review);
    return review;
  }

  private remember(key: string, token: string, caller: Caller): void {
    if (this.cacheMaxEntries === 0 || this.cacheTtlMs <= 0) return;
    const now = this.now();
    const expiresAtMs = Math.min(now + this.cacheTtlMs, jwtExpiryMs(token) ?? Number.POSITIVE_INFINITY);
    if (expiresAtMs <= now) return;
    while (this.cache.size >= this.cacheMaxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    this.cache.set(key, { caller, expiresAtMs });
  }

  private async review(token: string): Promise<Caller> {
    this.reviews++;
    let res: KubeResponse;
    try {
      res = await this.client.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: [...this.audiences] },
      });
      expectStatus(res, 'TokenReview', [200, 201]);
    } catch (err) {
      throw unavailable(err, `cannot review the token with the API server ${this.client.server}`);
    }
    const reviewed = decodeTokenReviewStatus(res.body, this.audiences);
    const sa = `${reviewed.serviceAccount.namespace}/${reviewed.serviceAccount.name}`;
    if (!this.trusted.has(sa)) {
      throw new CaError(
        'CA_PERMISSION_DENIED',
        `service account ${sa} is not a trusted node agent account (trusted: ${[...this.trusted].join(', ') || 'none'})`,
      );
    }
    if (reviewed.podName === undefined || reviewed.podUid === undefined) {
      throw new CaError(
        'CA_PERMISSION_DENIED',
        `the token of ${sa} is not bound to a pod, so its node is unknown (use a projected service account token)`,
      );
    }
    const node = await this.nodeOfPod(reviewed.serviceAccount, reviewed.podName, reviewed.podUid);
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ serviceAccount: sa, pod: reviewed.podName, node }, 'node agent authenticated');
    }
    return { kind: 'node', node };
  }

  private async nodeOfPod(sa: ServiceAccountRef, podName: string, podUid: string): Promise<string> {
    const where = `pod ${sa.namespace}/${podName}`;
    let res: KubeResponse;
    try {
      res = await this.client.request(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(sa.namespace)}/pods/${encodeURIComponent(podName)}`,
      );
    } catch (err) {
      throw unavailable(err, `cannot read ${where} from the API server ${this.client.server}`);
    }
    if (res.status === 404) {
      throw new CaError('CA_PERMISSION_DENIED', `${where}, to which the token is bound, no longer exists`);
    }
    if (res.status !== 200) {
      throw new CaError('CA_UNAVAILABLE', `cannot read ${where}: ${statusMessage(res)}`);
    }
    const pod = asRecord(res.body);
    const uid = asRecord(pod?.['metadata'])?.['uid'];
    if (uid !== podUid) {
      throw new CaError(
        'CA_PERMISSION_DENIED',
        `${where} has uid ${String(uid)}, but the token is bound to uid ${podUid} (the pod was replaced)`,
      );
    }
    const spec = asRecord(pod?.['spec']);
    const podSa = spec?.['serviceAccountName'];
    if (typeof podSa === 'string' && podSa !== '' && podSa !== sa.name) {
      throw new CaError('CA_PERMISSION_DENIED', `${where} runs as ${podSa}, not as ${sa.name}`);
    }
    const node = spec?.['nodeName'];
    if (typeof node !== 'string' || node === '') {
      throw new CaError('CA_PERMISSION_DENIED', `${where} is not scheduled on a node`);
    }
    return node;
  }
}

/** A failed API call as CA_UNAVAILABLE: the caller should retry, the CA is not at fault. */
function unavailable(err: unknown, what: string): CaError {
  if (err instanceof CaError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new CaError('CA_UNAVAILABLE', `${what}: ${detail}`, { cause: err });
}
