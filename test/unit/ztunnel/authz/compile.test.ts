import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import { Action, AuthorizationSchema, Scope, type MatchSchema } from '../../../../src/gen/istio/security/authorization_pb.js';
import { AuthzError, compilePolicy, prepareConnection, type ConnectionAttributes } from '../../../../src/ztunnel/authz/index.js';

type MatchInit = MessageInitShape<typeof MatchSchema>;

const CONN: ConnectionAttributes = {
  sourceIp: '10.0.0.5',
  sourcePrincipal: 'cluster.local/ns/web/sa/frontend',
  destinationIp: '10.0.0.9',
  destinationPort: 8080,
};
const prepared = prepareConnection(CONN);

/** A policy whose groups are lists of clauses, each a list of matches. */
function policy(groups: MatchInit[][][], init: { scope?: Scope; action?: Action } = {}) {
  return create(AuthorizationSchema, {
    name: 'p',
    namespace: 'demo',
    scope: init.scope ?? Scope.NAMESPACE,
    action: init.action ?? Action.ALLOW,
    groups: groups.map((clauses) => ({ rules: clauses.map((matches) => ({ matches })) })),
  });
}

const exact = (value: string) => ({ matchType: { case: 'exact' as const, value } });
const presence = { matchType: { case: 'presence' as const, value: create(EmptySchema) } };
const v4 = (s: string, length: number) => ({ address: new Uint8Array(s.split('.').map(Number)), length });

describe('ztunnel/authz compilePolicy', () => {
  const table: { name: string; groups: MatchInit[][][]; want: number }[] = [
    { name: 'a policy with no groups never matches', groups: [], want: -1 },
    { name: 'a group with no clauses matches everything', groups: [[]], want: 0 },
    { name: 'a clause with no matches passes', groups: [[[]]], want: 0 },
    { name: 'a Match with no field set is skipped, failing its clause', groups: [[[{}]]], want: -1 },
    { name: 'an empty Match beside a matching one does not stop the clause', groups: [[[{}, { destinationPorts: [8080] }]]], want: 0 },
    { name: 'clauses are AND-ed', groups: [[[{ destinationPorts: [8080] }], [{ destinationPorts: [9090] }]]], want: -1 },
    { name: 'groups are OR-ed and the first matching one is reported', groups: [[[{ destinationPorts: [1] }]], [[{ destinationPorts: [8080] }]], [[]]], want: 1 },
    { name: 'every field kind of a Match must pass', groups: [[[{ destinationPorts: [8080], namespaces: [exact('shop')] }]]], want: -1 },
    { name: 'positive list is any-of', groups: [[[{ principals: [exact('x'), exact('cluster.local/ns/web/sa/frontend')] }]]], want: 0 },
    { name: 'negative list is none-of', groups: [[[{ notNamespaces: [exact('x'), exact('web')] }]]], want: -1 },
    { name: 'not_principals presence does not match an mTLS peer', groups: [[[{ notPrincipals: [presence] }]]], want: -1 },
    { name: 'an address of the wrong size is dropped, leaving the field unconstrained', groups: [[[{ sourceIps: [{ address: new Uint8Array([10, 0, 0]), length: 24 }], destinationPorts: [8080] }]]], want: 0 },
    { name: 'a prefix longer than the address is dropped', groups: [[[{ sourceIps: [v4('10.9.0.0', 33)], destinationPorts: [8080] }]]], want: 0 },
    { name: 'a Match whose only entries are dropped is empty (skipped)', groups: [[[{ sourceIps: [v4('10.9.0.0', 40)] }]]], want: -1 },
    { name: 'a StringMatch without a type is dropped', groups: [[[{ principals: [{}], destinationPorts: [8080] }]]], want: 0 },
    { name: 'ports compare as 16-bit values', groups: [[[{ destinationPorts: [8080 + 65536] }]]], want: 0 },
    { name: 'destination IPs match the target address', groups: [[[{ destinationIps: [v4('10.0.0.0', 28)] }]]], want: 0 },
    { name: 'not_destination_ips exclude the target address', groups: [[[{ notDestinationIps: [v4('10.0.0.9', 32)] }]]], want: -1 },
    { name: 'service accounts compare namespace and account', groups: [[[{ serviceAccounts: [{ namespace: 'web', serviceAccount: 'frontend' }] }]]], want: 0 },
    { name: 'service accounts need both parts', groups: [[[{ serviceAccounts: [{ namespace: 'demo', serviceAccount: 'frontend' }] }]]], want: -1 },
  ];
  for (const c of table) {
    it(`${c.name}`, () => {
      assert.equal(compilePolicy(policy(c.groups)).matchingGroup(prepared), c.want);
    });
  }

  it('names the policy by "<namespace>/<name>" and keeps scope, action and dry-run', () => {
    const a = policy([], { scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY });
    a.dryRun = true;
    const p = compilePolicy(a);
    assert.deepEqual(
      { key: p.key, scope: p.scope, action: p.action, dryRun: p.dryRun, source: p.source === a },
      { key: 'demo/p', scope: 'workload-selector', action: 'deny', dryRun: true, source: true },
    );
  });

  it('rejects an unknown scope with AUTHZ_INVALID_POLICY', () => {
    assert.throws(() => compilePolicy(policy([], { scope: 7 as Scope })), (e: unknown) => e instanceof AuthzError && e.code === 'AUTHZ_INVALID_POLICY');
  });

  it('rejects an unknown action with AUTHZ_INVALID_POLICY', () => {
    assert.throws(() => compilePolicy(policy([], { action: 2 as Action })), (e: unknown) => e instanceof AuthzError && e.code === 'AUTHZ_INVALID_POLICY');
  });

  it('a plaintext peer has no principal, namespace or service account', () => {
    const plain = prepareConnection({ sourceIp: '10.0.0.5', destinationIp: '10.0.0.9', destinationPort: 8080 });
    const rows: [MatchInit, number][] = [
      [{ principals: [presence] }, -1],
      [{ notPrincipals: [presence] }, 0],
      [{ namespaces: [presence] }, -1],
      [{ namespaces: [exact('')] }, 0],
      [{ serviceAccounts: [{ namespace: '', serviceAccount: '' }] }, -1],
      [{ notServiceAccounts: [{ namespace: 'web', serviceAccount: 'frontend' }] }, 0],
    ];
    for (const [m, want] of rows) assert.equal(compilePolicy(policy([[[m]]])).matchingGroup(plain), want, JSON.stringify(m));
  });
});
