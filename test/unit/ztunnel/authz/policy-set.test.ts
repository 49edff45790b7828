import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { Action, AuthorizationSchema, Scope, type Authorization } from '../../../../src/gen/istio/security/authorization_pb.js';
import { AuthzError, PolicySet, prepareConnection, type LiveConnection } from '../../../../src/ztunnel/authz/index.js';

function authz(namespace: string, name: string, scope: Scope, action = Action.ALLOW, matchAll = true): Authorization {
  // matchAll: one group without clauses (matches everything); otherwise no groups (matches nothing).
  return create(AuthorizationSchema, { name, namespace, scope, action, groups: matchAll ? [{ rules: [] }] : [] });
}

const keys = (s: PolicySet, w: { namespace: string; authorizationPolicies: string[] }) => s.applicableTo(w).policies.map((p) => p.key);
const CONN = prepareConnection({ sourceIp: '10.0.0.5', sourcePrincipal: 'td/ns/web/sa/a', destinationIp: '10.0.0.9', destinationPort: 80 });

describe('ztunnel/authz PolicySet', () => {
  function sample(): PolicySet {
    const s = new PolicySet();
    s.replaceAll([
      authz('istio-system', 'global-b', Scope.GLOBAL),
      authz('istio-system', 'global-a', Scope.GLOBAL),
      authz('demo', 'ns-b', Scope.NAMESPACE),
      authz('demo', 'ns-a', Scope.NAMESPACE),
      authz('shop', 'ns-shop', Scope.NAMESPACE),
      authz('demo', 'selected', Scope.WORKLOAD_SELECTOR),
      authz('istio-system', 'root-selected', Scope.WORKLOAD_SELECTOR),
    ]);
    return s;
  }

  const table: { name: string; workload: { namespace: string; authorizationPolicies: string[] }; want: string[]; unknown?: string[] }[] = [
    {
      name: 'namespace policies, then global ones, each by key; selector policies only when listed',
      workload: { namespace: 'demo', authorizationPolicies: [] },
      want: ['demo/ns-a', 'demo/ns-b', 'istio-system/global-a', 'istio-system/global-b'],
    },
    {
      name: 'listed keys follow in the workload order',
      workload: { namespace: 'demo', authorizationPolicies: ['istio-system/root-selected', 'demo/selected'] },
      want: ['demo/ns-a', 'demo/ns-b', 'istio-system/global-a', 'istio-system/global-b', 'istio-system/root-selected', 'demo/selected'],
    },
    {
      name: 'another namespace sees only its own namespace policies and the global ones',
      workload: { namespace: 'shop', authorizationPolicies: [] },
      want: ['shop/ns-shop', 'istio-system/global-a', 'istio-system/global-b'],
    },
    {
      name: 'a key listed twice (or also in scope) is used once',
      workload: { namespace: 'demo', authorizationPolicies: ['demo/ns-a', 'demo/selected', 'demo/selected'] },
      want: ['demo/ns-a', 'demo/ns-b', 'istio-system/global-a', 'istio-system/global-b', 'demo/selected'],
    },
    {
      name: 'unknown keys are skipped and reported',
      workload: { namespace: 'empty', authorizationPolicies: ['demo/gone', 'demo/selected', 'x/y'] },
      want: ['istio-system/global-a', 'istio-system/global-b', 'demo/selected'],
      unknown: ['demo/gone', 'x/y'],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const got = sample().applicableTo(c.workload);
      assert.deepEqual(
        { policies: got.policies.map((p) => p.key), unknown: got.unknown },
        { policies: c.want, unknown: c.unknown ?? [] },
      );
    });
  }

  it('re-indexes a policy whose scope changes', () => {
    const s = sample();
    s.upsert(authz('demo', 'ns-a', Scope.WORKLOAD_SELECTOR));
    assert.deepEqual(keys(s, { namespace: 'demo', authorizationPolicies: [] }), ['demo/ns-b', 'istio-system/global-a', 'istio-system/global-b']);
    s.upsert(authz('demo', 'ns-a', Scope.GLOBAL));
    assert.deepEqual(keys(s, { namespace: 'shop', authorizationPolicies: [] }), ['shop/ns-shop', 'demo/ns-a', 'istio-system/global-a', 'istio-system/global-b']);
  });

  it('removes policies from every index', () => {
    const s = sample();
    assert.equal(s.remove('istio-system/global-a'), true);
    assert.equal(s.remove('istio-system/global-a'), false);
    assert.deepEqual(keys(s, { namespace: 'demo', authorizationPolicies: [] }), ['demo/ns-a', 'demo/ns-b', 'istio-system/global-b']);
    assert.equal(s.find('istio-system/global-a'), undefined);
    assert.equal(s.size, 6);
  });

  it('applies a batch atomically: a bad resource changes nothing', () => {
    const s = sample();
    const before = s.revision;
    assert.throws(
      () => s.apply({ updated: [authz('demo', 'new', Scope.NAMESPACE), authz('demo', 'bad', 9 as Scope)], removed: ['demo/ns-a'] }),
      (e: unknown) => e instanceof AuthzError && e.code === 'AUTHZ_INVALID_POLICY',
    );
    assert.equal(s.revision, before);
    assert.deepEqual(s.all().map((p) => p.key), sample().all().map((p) => p.key));
  });

  it('advances the revision once per change or batch, not for a no-op removal', () => {
    const s = new PolicySet();
    const r0 = s.revision;
    s.upsert(authz('demo', 'a', Scope.NAMESPACE));
    s.apply({ updated: [authz('demo', 'b', Scope.NAMESPACE), authz('demo', 'c', Scope.NAMESPACE)], removed: ['demo/a'] });
    s.apply({ removed: ['demo/none'] });
    assert.equal(s.remove('demo/none'), false);
    assert.equal(s.revision, r0 + 2);
    assert.deepEqual(s.all().map((p) => p.key), ['demo/b', 'demo/c']);
  });

  it('checks a connection against the policies of its workload', () => {
    const s = new PolicySet();
    s.upsert(authz('demo', 'deny-all', Scope.WORKLOAD_SELECTOR, Action.DENY));
    assert.equal(s.check({ namespace: 'demo', authorizationPolicies: [] }, CONN).kind, 'allow');
    assert.deepEqual(s.check({ namespace: 'demo', authorizationPolicies: ['demo/deny-all'] }, CONN), {
      kind: 'deny',
      policy: 'demo/deny-all',
      rule: 0,
      reason: 'denied-by-policy',
    });
  });

  it('re-checks live connections after a policy change and returns the ones now denied', () => {
    const s = new PolicySet();
    const a: LiveConnection & { id: string } = { id: 'a', workload: { namespace: 'demo', authorizationPolicies: [] }, connection: CONN };
    const b: LiveConnection & { id: string } = { id: 'b', workload: { namespace: 'shop', authorizationPolicies: [] }, connection: CONN };
    const c: LiveConnection & { id: string } = { id: 'c', workload: { namespace: 'demo', authorizationPolicies: [] }, connection: CONN };
    assert.deepEqual(s.recheck([a, b, c]), []);
    // An ALLOW that matches nothing in demo: demo's connections lose their access.
    s.upsert(authz('demo', 'allow-nothing', Scope.NAMESPACE, Action.ALLOW, false));
    const denied = s.recheck([a, b, c]);
    assert.deepEqual(
      denied.map((d) => [d.connection.id, d.decision.reason]),
      [
        ['a', 'no-allow-match'],
        ['c', 'no-allow-match'],
      ],
    );
    s.remove('demo/allow-nothing');
    assert.deepEqual(s.recheck([a, b, c]), []);
  });

  it('denies every connection until it is synced, then decides by its policies', () => {
    const s = new PolicySet({ synced: false });
    s.upsert(authz('demo', 'allow-all', Scope.NAMESPACE));
    const w = { namespace: 'demo', authorizationPolicies: [] };
    assert.deepEqual(s.check(w, CONN), { kind: 'deny', reason: 'policies-not-synced' });
    assert.deepEqual(s.recheck([{ workload: w, connection: CONN }]).map((d) => d.decision.reason), ['policies-not-synced']);
    const before = s.revision;
    s.markSynced();
    assert.ok(s.revision > before, 'syncing is a change live connections are re-checked for');
    assert.equal(s.check(w, CONN).reason, 'allowed-by-policy');
  });
});
