import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { CaError } from '../../../../../src/istiod/ca/index.js';
import {
  decodeTokenReviewStatus,
  jwtExpiryMs,
  KubeCaError,
  parseTrustedAccounts,
  TokenReviewAuthenticator,
  type HttpMethod,
  type KubeResponse,
  type KubeRestClient,
} from '../../../../../src/istiod/ca/kubernetes/index.js';
import { silentLogger } from '../../../../../src/shared/logging.js';

const AUD = ['istio-ca'];

function reviewBody(status: Record<string, unknown>): unknown {
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status };
}

function boundUser(username = 'system:serviceaccount:istio-system:ztunnel'): Record<string, unknown> {
  return {
    username,
    extra: {
      'authentication.kubernetes.io/pod-name': ['ztunnel-a'],
      'authentication.kubernetes.io/pod-uid': ['uid-a'],
    },
  };
}

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.signature`;
}

function withToken(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** A KubeRestClient answering every token with a review of ztunnel-a on node-1. */
class StubClient implements KubeRestClient {
  readonly server = 'stub';
  calls: string[] = [];
  request(method: HttpMethod, path: string): Promise<KubeResponse> {
    this.calls.push(`${method} ${path}`);
    if (method === 'POST') {
      return Promise.resolve({
        status: 201,
        body: reviewBody({ authenticated: true, audiences: AUD, user: boundUser() }),
      });
    }
    return Promise.resolve({
      status: 200,
      body: { metadata: { uid: 'uid-a' }, spec: { nodeName: 'node-1', serviceAccountName: 'ztunnel' } },
    });
  }
  get reviews(): number {
    return this.calls.filter((c) => c.startsWith('POST')).length;
  }
}

describe('istiod/ca/kubernetes/token-review', () => {
  describe('decodeTokenReviewStatus', () => {
    it('returns the service account and the bound pod', () => {
      assert.deepEqual(
        decodeTokenReviewStatus(reviewBody({ authenticated: true, audiences: AUD, user: boundUser() }), AUD),
        {
          serviceAccount: { namespace: 'istio-system', name: 'ztunnel' },
          podName: 'ztunnel-a',
          podUid: 'uid-a',
        },
      );
    });

    const refused: { name: string; status: Record<string, unknown> | undefined; mentions: string }[] = [
      { name: 'no status', status: undefined, mentions: 'has no status' },
      {
        name: 'not authenticated, with the reason',
        status: { authenticated: false, error: 'token expired' },
        mentions: 'not authenticated by the API server: token expired',
      },
      {
        name: 'authenticated for other audiences',
        status: { authenticated: true, audiences: ['api'], user: boundUser() },
        mentions: 'audiences [api], not for istio-ca',
      },
      {
        name: 'a user that is not a service account',
        status: { authenticated: true, audiences: AUD, user: { username: 'alice' } },
        mentions: 'belongs to "alice"',
      },
      {
        name: 'a malformed service account user',
        status: { authenticated: true, audiences: AUD, user: { username: 'system:serviceaccount:ns' } },
        mentions: 'not to a service account',
      },
      {
        name: 'an error beside authenticated',
        status: { authenticated: true, error: 'odd', audiences: AUD, user: boundUser() },
        mentions: 'reported an error: odd',
      },
    ];
    for (const c of refused) {
      it(`refuses ${c.name} with CA_UNAUTHENTICATED`, () => {
        assert.throws(
          () => decodeTokenReviewStatus(c.status === undefined ? {} : reviewBody(c.status), AUD),
          (e: unknown) =>
            e instanceof CaError && e.code === 'CA_UNAUTHENTICATED' && e.message.includes(c.mentions),
        );
      });
    }

    it('accepts an answer without status.audiences (older API servers) and a token without pod binding', () => {
      const r = decodeTokenReviewStatus(
        reviewBody({ authenticated: true, user: { username: 'system:serviceaccount:a:b' } }),
        AUD,
      );
      assert.deepEqual(r, { serviceAccount: { namespace: 'a', name: 'b' } });
    });
  });

  describe('parseTrustedAccounts', () => {
    it('parses CA_TRUSTED_NODE_ACCOUNTS-style lists, ignoring blanks', () => {
      assert.deepEqual(parseTrustedAccounts(' istio-system/ztunnel, ,kube-system/ztunnel '), [
        { namespace: 'istio-system', name: 'ztunnel' },
        { namespace: 'kube-system', name: 'ztunnel' },
      ]);
    });
    for (const bad of ['ztunnel', 'istio-system/', '/ztunnel', 'Istio/ztunnel', 'a/b/c']) {
      it(`refuses "${bad}" with KUBE_CA_CONFIG_INVALID`, () => {
        assert.throws(
          () => parseTrustedAccounts(bad),
          (e: unknown) => e instanceof KubeCaError && e.code === 'KUBE_CA_CONFIG_INVALID',
        );
      });
    }
  });

  describe('jwtExpiryMs', () => {
    it('reads exp of a JWT, and nothing from other tokens', () => {
      assert.equal(jwtExpiryMs(jwt({ exp: 1_900_000_000 })), 1_900_000_000_000);
      assert.equal(jwtExpiryMs(jwt({ sub: 'x' })), undefined);
      assert.equal(jwtExpiryMs('opaque-token'), undefined);
      assert.equal(jwtExpiryMs('a.!!!.c'), undefined);
    });
  });

  describe('the review cache', () => {
    it('reuses a review until its TTL passes, then reviews again', async () => {
      let now = 1_000_000;
      const client = new StubClient();
      const auth = new TokenReviewAuthenticator({
        client,
        logger: silentLogger,
        cacheTtlMs: 1000,
        now: () => now,
      });
      assert.deepEqual(await auth.authenticate(withToken('t1')), { kind: 'node', node: 'node-1' });
      now += 999;
      await auth.authenticate(withToken('t1'));
      assert.equal(client.reviews, 1);
      now += 2;
      await auth.authenticate(withToken('t1'));
      assert.equal(client.reviews, 2);
    });

    it("never keeps a review past the token's own expiry", async () => {
      let now = 1_000_000;
      const client = new StubClient();
      const auth = new TokenReviewAuthenticator({
        client,
        logger: silentLogger,
        cacheTtlMs: 60_000,
        now: () => now,
      });
      const token = jwt({ exp: (now + 500) / 1000 });
      await auth.authenticate(withToken(token));
      now += 600;
      await auth.authenticate(withToken(token));
      assert.equal(client.reviews, 2);
    });

    it('holds at most cacheMaxEntries tokens, dropping the oldest', async () => {
      const client = new StubClient();
      const auth = new TokenReviewAuthenticator({ client, logger: silentLogger, cacheMaxEntries: 2 });
      for (const t of ['a', 'b', 'c']) await auth.authenticate(withToken(t));
      assert.equal(auth.cacheSize, 2);
      await auth.authenticate(withToken('c'));
      assert.equal(client.reviews, 3);
      await auth.authenticate(withToken('a'));
      assert.equal(client.reviews, 4);
    });

    it('does not cache refusals', async () => {
      const client = new StubClient();
      const auth = new TokenReviewAuthenticator({
        client,
        logger: silentLogger,
        trustedNodeAccounts: [{ namespace: 'kube-system', name: 'ztunnel' }],
      });
      for (let i = 0; i < 2; i++) {
        await assert.rejects(
          auth.authenticate(withToken('t')),
          (e: unknown) => (e as CaError).code === 'CA_PERMISSION_DENIED',
        );
      }
      assert.equal(client.reviews, 2);
      assert.equal(auth.cacheSize, 0);
    });

    it('refuses missing or malformed authorization metadata without calling the API', async () => {
      const client = new StubClient();
      const auth = new TokenReviewAuthenticator({ client, logger: silentLogger });
      const md = new Metadata();
      md.set('authorization', 'Basic abc');
      for (const m of [new Metadata(), md]) {
        await assert.rejects(
          auth.authenticate(m),
          (e: unknown) => (e as CaError).code === 'CA_UNAUTHENTICATED',
        );
      }
      assert.equal(client.calls.length, 0);
    });
  });
});
