import assert from 'node:assert/strict';
import type { ConnectionAttributes, DecisionReason, DryRunMatch } from '../../../../src/ztunnel/authz/index.js';
import { allow, decide, deny, emptySpec, from, peerAuthentication, to, when, withAction, type DecideOptions, type Doc } from './fixture.js';

const FRONTEND = 'cluster.local/ns/web/sa/frontend';
const OTHER = 'cluster.local/ns/shop/sa/cart';

/** A connection from web/frontend (10.0.0.5) to the backend (10.0.0.9:8080) unless overridden. */
function conn(over: Partial<ConnectionAttributes> & { plaintext?: boolean } = {}): ConnectionAttributes {
  const { plaintext, ...rest } = over;
  const base: ConnectionAttributes = { sourceIp: '10.0.0.5', sourcePrincipal: FRONTEND, destinationIp: '10.0.0.9', destinationPort: 8080 };
  const c = { ...base, ...rest };
  if (plaintext === true) {
    const { sourcePrincipal: _p, sourceNamespace: _n, ...noId } = c;
    return noId;
  }
  return c;
}

interface Case {
  readonly name: string;
  readonly docs: readonly Doc[];
  readonly conn?: ConnectionAttributes;
  readonly options?: DecideOptions;
  readonly want: 'allow' | 'deny';
  readonly policy?: string;
  readonly rule?: number;
  readonly reason: DecisionReason;
  readonly dryRun?: readonly DryRunMatch[];
}

const ALLOWED = (policy: string, rule = 0) => ({ want: 'allow' as const, policy, rule, reason: 'allowed-by-policy' as const });
const DENIED = (policy: string, rule = 0) => ({ want: 'deny' as const, policy, rule, reason: 'denied-by-policy' as const });
const NO_MATCH = { want: 'deny' as const, reason: 'no-allow-match' as const };
const NO_POLICIES = { want: 'allow' as const, reason: 'no-policies' as const };

const STATIC_STRICT = 'istio-system/istio_converted_static_strict';
const meshStrict = peerAuthentication('default', 'istio-system', { mtls: { mode: 'STRICT' } });

const cases: Case[] = [
  // ---- principals ----
  { name: 'principals exact, same identity', docs: [allow('p', [from({ principals: [FRONTEND] })])], ...ALLOWED('demo/p') },
  { name: 'principals exact, other identity', docs: [allow('p', [from({ principals: [FRONTEND] })])], conn: conn({ sourcePrincipal: OTHER }), ...NO_MATCH },
  { name: 'principals prefix "cluster.local/ns/web/*"', docs: [allow('p', [from({ principals: ['cluster.local/ns/web/*'] })])], ...ALLOWED('demo/p') },
  { name: 'principals prefix, other namespace', docs: [allow('p', [from({ principals: ['cluster.local/ns/web/*'] })])], conn: conn({ sourcePrincipal: OTHER }), ...NO_MATCH },
  { name: 'principals suffix "*/sa/frontend"', docs: [allow('p', [from({ principals: ['*/sa/frontend'] })])], ...ALLOWED('demo/p') },
  { name: 'principals suffix, other account', docs: [allow('p', [from({ principals: ['*/sa/frontend'] })])], conn: conn({ sourcePrincipal: OTHER }), ...NO_MATCH },
  { name: 'principals presence "*" with mTLS', docs: [allow('p', [from({ principals: ['*'] })])], ...ALLOWED('demo/p') },
  { name: 'principals presence "*" for plaintext', docs: [allow('p', [from({ principals: ['*'] })])], conn: conn({ plaintext: true }), ...NO_MATCH },
  { name: 'principals written with spiffe:// never match (compared without it)', docs: [allow('p', [from({ principals: [`spiffe://${FRONTEND}`] })])], ...NO_MATCH },
  { name: 'principals exact for plaintext', docs: [allow('p', [from({ principals: [FRONTEND] })])], conn: conn({ plaintext: true }), ...NO_MATCH },
  { name: 'notPrincipals in DENY, listed identity', docs: [deny('d', [from({ notPrincipals: [FRONTEND] })])], ...NO_POLICIES },
  { name: 'notPrincipals in DENY, other identity', docs: [deny('d', [from({ notPrincipals: [FRONTEND] })])], conn: conn({ sourcePrincipal: OTHER }), ...DENIED('demo/d') },
  { name: 'notPrincipals in ALLOW, plaintext has no principal so passes', docs: [allow('p', [from({ notPrincipals: [FRONTEND] })])], conn: conn({ plaintext: true }), ...ALLOWED('demo/p') },
  { name: 'notPrincipals "*" in DENY denies plaintext', docs: [deny('d', [from({ notPrincipals: ['*'] })])], conn: conn({ plaintext: true }), ...DENIED('demo/d') },
  { name: 'notPrincipals "*" in DENY lets mTLS through', docs: [deny('d', [from({ notPrincipals: ['*'] })])], ...NO_POLICIES },

  // ---- namespaces ----
  { name: 'namespaces exact, peer in it', docs: [allow('p', [from({ namespaces: ['web'] })])], ...ALLOWED('demo/p') },
  { name: 'namespaces exact, peer elsewhere', docs: [allow('p', [from({ namespaces: ['web'] })])], conn: conn({ sourcePrincipal: OTHER }), ...NO_MATCH },
  { name: 'namespaces prefix "we*"', docs: [allow('p', [from({ namespaces: ['we*'] })])], ...ALLOWED('demo/p') },
  { name: 'namespaces suffix "*op"', docs: [allow('p', [from({ namespaces: ['*op'] })])], conn: conn({ sourcePrincipal: OTHER }), ...ALLOWED('demo/p') },
  { name: 'namespaces suffix, no match', docs: [allow('p', [from({ namespaces: ['*op'] })])], ...NO_MATCH },
  { name: 'namespaces for plaintext (no identity, no namespace)', docs: [allow('p', [from({ namespaces: ['web'] })])], conn: conn({ plaintext: true }), ...NO_MATCH },
  { name: 'namespaces presence "*" for plaintext', docs: [allow('p', [from({ namespaces: ['*'] })])], conn: conn({ plaintext: true }), ...NO_MATCH },
  { name: 'namespaces presence "*" with mTLS', docs: [allow('p', [from({ namespaces: ['*'] })])], ...ALLOWED('demo/p') },
  { name: 'notNamespaces, peer in the listed namespace', docs: [allow('p', [from({ notNamespaces: ['web'] })])], ...NO_MATCH },
  { name: 'notNamespaces, peer elsewhere', docs: [allow('p', [from({ notNamespaces: ['web'] })])], conn: conn({ sourcePrincipal: OTHER }), ...ALLOWED('demo/p') },
  { name: 'notNamespaces for plaintext passes', docs: [allow('p', [from({ notNamespaces: ['web'] })])], conn: conn({ plaintext: true }), ...ALLOWED('demo/p') },

  // ---- service accounts ----
  { name: 'serviceAccounts "ns/sa", same account', docs: [allow('p', [from({ serviceAccounts: ['web/frontend'] })])], ...ALLOWED('demo/p') },
  { name: 'serviceAccounts "ns/sa", other account', docs: [allow('p', [from({ serviceAccounts: ['web/frontend'] })])], conn: conn({ sourcePrincipal: OTHER }), ...NO_MATCH },
  { name: 'serviceAccounts bare "sa" means the policy namespace (demo), not web', docs: [allow('p', [from({ serviceAccounts: ['frontend'] })])], ...NO_MATCH },
  { name: 'serviceAccounts bare "sa" from the policy namespace', docs: [allow('p', [from({ serviceAccounts: ['frontend'] })])], conn: conn({ sourcePrincipal: 'cluster.local/ns/demo/sa/frontend' }), ...ALLOWED('demo/p') },
  { name: 'serviceAccounts ignore the trust domain', docs: [allow('p', [from({ serviceAccounts: ['web/frontend'] })])], conn: conn({ sourcePrincipal: 'other.td/ns/web/sa/frontend' }), ...ALLOWED('demo/p') },
  { name: 'serviceAccounts for plaintext', docs: [allow('p', [from({ serviceAccounts: ['web/frontend'] })])], conn: conn({ plaintext: true }), ...NO_MATCH },
  { name: 'notServiceAccounts, listed account', docs: [allow('p', [from({ notServiceAccounts: ['web/frontend'] })])], ...NO_MATCH },
  { name: 'notServiceAccounts, other account', docs: [allow('p', [from({ notServiceAccounts: ['web/frontend'] })])], conn: conn({ sourcePrincipal: OTHER }), ...ALLOWED('demo/p') },

  // ---- source IPs ----
  { name: 'ipBlocks v4 CIDR containing the source', docs: [allow('p', [from({ ipBlocks: ['10.0.0.0/24'] })])], ...ALLOWED('demo/p') },
  { name: 'ipBlocks v4 CIDR not containing the source', docs: [allow('p', [from({ ipBlocks: ['10.0.1.0/24'] })])], ...NO_MATCH },
  { name: 'ipBlocks bare IP is a /32 (same IP)', docs: [allow('p', [from({ ipBlocks: ['10.0.0.5'] })])], ...ALLOWED('demo/p') },
  { name: 'ipBlocks bare IP is a /32 (neighbour)', docs: [allow('p', [from({ ipBlocks: ['10.0.0.6'] })])], ...NO_MATCH },
  { name: 'ipBlocks /20 upper edge', docs: [allow('p', [from({ ipBlocks: ['10.0.16.0/20'] })])], conn: conn({ sourceIp: '10.0.31.255' }), ...ALLOWED('demo/p') },
  { name: 'ipBlocks /20 just past the edge', docs: [allow('p', [from({ ipBlocks: ['10.0.16.0/20'] })])], conn: conn({ sourceIp: '10.0.32.0' }), ...NO_MATCH },
  { name: 'ipBlocks with host bits set still match the network', docs: [allow('p', [from({ ipBlocks: ['10.0.0.77/24'] })])], ...ALLOWED('demo/p') },
  { name: 'ipBlocks 0.0.0.0/0 matches any IPv4 source', docs: [allow('p', [from({ ipBlocks: ['0.0.0.0/0'] })])], conn: conn({ sourceIp: '192.168.9.9' }), ...ALLOWED('demo/p') },
  { name: 'ipBlocks 0.0.0.0/0 does not match an IPv6 source', docs: [allow('p', [from({ ipBlocks: ['0.0.0.0/0'] })])], conn: conn({ sourceIp: 'fd00::5' }), ...NO_MATCH },
  { name: 'ipBlocks v6 CIDR containing the source', docs: [allow('p', [from({ ipBlocks: ['fd00:1::/32'] })])], conn: conn({ sourceIp: 'fd00:1:2::5' }), ...ALLOWED('demo/p') },
  { name: 'ipBlocks v6 CIDR not containing the source', docs: [allow('p', [from({ ipBlocks: ['fd00:1::/32'] })])], conn: conn({ sourceIp: 'fd00:2::5' }), ...NO_MATCH },
  { name: 'ipBlocks v6 host address', docs: [allow('p', [from({ ipBlocks: ['2001:db8::1'] })])], conn: conn({ sourceIp: '2001:db8:0:0::1' }), ...ALLOWED('demo/p') },
  { name: 'ipBlocks v4 matches an IPv4-mapped IPv6 source', docs: [allow('p', [from({ ipBlocks: ['10.0.0.0/24'] })])], conn: conn({ sourceIp: '::ffff:10.0.0.5' }), ...ALLOWED('demo/p') },
  { name: 'notIpBlocks containing the source', docs: [allow('p', [from({ notIpBlocks: ['10.0.0.0/24'] })])], ...NO_MATCH },
  { name: 'notIpBlocks not containing the source', docs: [allow('p', [from({ notIpBlocks: ['10.9.0.0/16'] })])], ...ALLOWED('demo/p') },

  // ---- ports ----
  { name: 'to.ports containing the target port', docs: [allow('p', [to({ ports: ['8080'] })])], ...ALLOWED('demo/p') },
  { name: 'to.ports not containing the target port', docs: [allow('p', [to({ ports: ['9090'] })])], ...NO_MATCH },
  { name: 'to.notPorts containing the target port', docs: [allow('p', [to({ notPorts: ['8080'] })])], ...NO_MATCH },
  { name: 'to.notPorts not containing the target port', docs: [allow('p', [to({ notPorts: ['9090'] })])], ...ALLOWED('demo/p') },
  { name: 'several to entries are OR-ed', docs: [allow('p', [{ to: [{ operation: { ports: ['80'] } }, { operation: { ports: ['8080'] } }] }])], ...ALLOWED('demo/p') },
  { name: 'port on a DENY policy', docs: [deny('d', [to({ ports: ['8080'] })])], ...DENIED('demo/d') },

  // ---- when (L4 keys) ----
  { name: 'when source.ip values', docs: [allow('p', [when('source.ip', ['10.0.0.0/8'])])], ...ALLOWED('demo/p') },
  { name: 'when source.ip notValues', docs: [allow('p', [when('source.ip', undefined, ['10.0.0.5'])])], ...NO_MATCH },
  { name: 'when source.namespace values', docs: [allow('p', [when('source.namespace', ['web'])])], ...ALLOWED('demo/p') },
  { name: 'when source.namespace notValues', docs: [allow('p', [when('source.namespace', undefined, ['web'])])], ...NO_MATCH },
  { name: 'when source.principal values', docs: [allow('p', [when('source.principal', [FRONTEND])])], ...ALLOWED('demo/p') },
  { name: 'when source.principal notValues', docs: [allow('p', [when('source.principal', undefined, ['*'])])], conn: conn({ plaintext: true }), ...ALLOWED('demo/p') },
  { name: 'when destination.ip values, same IP', docs: [allow('p', [when('destination.ip', ['10.0.0.9'])])], ...ALLOWED('demo/p') },
  { name: 'when destination.ip values, other IP', docs: [allow('p', [when('destination.ip', ['10.0.0.10/32'])])], ...NO_MATCH },
  { name: 'when destination.ip notValues', docs: [allow('p', [when('destination.ip', undefined, ['10.0.0.0/24'])])], ...NO_MATCH },
  { name: 'when destination.ip v6 against a v6 destination', docs: [allow('p', [when('destination.ip', ['fd00::/16'])])], options: { destination: { ip: 'fd00::9' } }, conn: conn({ destinationIp: 'fd00::9' }), ...ALLOWED('demo/p') },
  { name: 'when destination.port values', docs: [allow('p', [when('destination.port', ['8080'])])], ...ALLOWED('demo/p') },
  { name: 'when destination.port notValues', docs: [allow('p', [when('destination.port', undefined, ['8080'])])], ...NO_MATCH },

  // ---- combinations ----
  { name: 'from and to are AND-ed (to fails)', docs: [allow('p', [{ ...from({ namespaces: ['web'] }), ...to({ ports: ['9090'] }) }])], ...NO_MATCH },
  { name: 'from and to are AND-ed (both pass)', docs: [allow('p', [{ ...from({ namespaces: ['web'] }), ...to({ ports: ['8080'] }) }])], ...ALLOWED('demo/p') },
  { name: 'from, to and when all must pass', docs: [allow('p', [{ ...from({ namespaces: ['web'] }), ...to({ ports: ['8080'] }), ...when('source.ip', ['10.1.0.0/16']) }])], ...NO_MATCH },
  { name: 'fields within one source are AND-ed', docs: [allow('p', [from({ namespaces: ['web'], ipBlocks: ['10.9.0.0/16'] })])], ...NO_MATCH },
  { name: 'several from entries are OR-ed', docs: [allow('p', [{ from: [{ source: { namespaces: ['shop'] } }, { source: { ipBlocks: ['10.0.0.0/24'] } }] }])], ...ALLOWED('demo/p') },
  { name: 'the matching rule is reported by index', docs: [allow('p', [from({ namespaces: ['shop'] }), to({ ports: ['8080'] })])], ...ALLOWED('demo/p', 1) },
  { name: 'positive and negative of one field together', docs: [allow('p', [from({ principals: ['cluster.local/ns/web/*'], notPrincipals: [FRONTEND] })])], ...NO_MATCH },

  // ---- whole policies ----
  { name: 'allow-nothing (spec: {}) denies everything', docs: [emptySpec('allow-nothing')], ...NO_MATCH },
  { name: 'ALLOW without rules (selector only) denies everything', docs: [allow('p')], ...NO_MATCH },
  { name: 'allow-all (rules: [{}])', docs: [allow('p', [{}])], ...ALLOWED('demo/p') },
  { name: 'deny-all (DENY rules: [{}])', docs: [deny('d', [{}])], ...DENIED('demo/d') },
  { name: 'no policies at all', docs: [], ...NO_POLICIES },
  { name: 'DENY is checked before ALLOW', docs: [allow('a', [{}]), deny('d', [from({ namespaces: ['web'] })])], ...DENIED('demo/d') },
  { name: 'a DENY that does not match leaves the ALLOW to decide', docs: [allow('a', [{}]), deny('d', [from({ namespaces: ['shop'] })])], ...ALLOWED('demo/a') },
  { name: 'any one of several ALLOW policies suffices', docs: [allow('a', [from({ namespaces: ['shop'] })]), allow('b', [from({ namespaces: ['web'] })])], ...ALLOWED('demo/b') },

  // ---- HTTP-only attributes ----
  { name: 'ALLOW with only HTTP fields matches nothing', docs: [allow('p', [to({ methods: ['GET'] })])], ...NO_MATCH },
  { name: 'ALLOW rule with an HTTP field is dropped even with L4 fields', docs: [allow('p', [{ ...to({ ports: ['8080'], paths: ['/x'] }) }])], ...NO_MATCH },
  { name: 'ALLOW keeps its L4 rules (renumbered) when an HTTP rule is dropped', docs: [allow('p', [to({ methods: ['GET'] }), to({ ports: ['8080'] })])], ...ALLOWED('demo/p', 0) },
  { name: 'ALLOW with a request.auth condition matches nothing', docs: [allow('p', [when('request.auth.claims[iss]', ['x'])])], ...NO_MATCH },
  { name: 'ALLOW with requestPrincipals matches nothing', docs: [allow('p', [from({ requestPrincipals: ['*'] })])], ...NO_MATCH },
  { name: 'DENY with HTTP fields keeps its L4 part (more restrictive)', docs: [deny('d', [to({ ports: ['8080'], methods: ['POST'] })])], ...DENIED('demo/d') },
  { name: 'DENY with HTTP fields and an L4 part that does not match', docs: [deny('d', [to({ ports: ['9090'], methods: ['POST'] })])], ...NO_POLICIES },
  { name: 'DENY with only HTTP fields is a no-op', docs: [deny('d', [to({ paths: ['/admin'] })])], ...NO_POLICIES },
  { name: 'DENY with only an HTTP condition is a no-op', docs: [deny('d', [when('request.headers[x-user]', ['bob'])])], ...NO_POLICIES },
  { name: 'DENY with remoteIpBlocks only is a no-op', docs: [deny('d', [from({ remoteIpBlocks: ['10.0.0.0/8'] })])], ...NO_POLICIES },

  // ---- actions and attachment the node agent does not see ----
  { name: 'AUDIT policies are not sent', docs: [withAction('AUDIT', 'a', [{}])], ...NO_POLICIES },
  { name: 'CUSTOM policies are not sent', docs: [{ ...withAction('CUSTOM', 'c', [{}]), spec: { selector: { matchLabels: { app: 'backend' } }, action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] } }], ...NO_POLICIES },
  { name: 'targetRefs policies belong to waypoints', docs: [{ ...deny('d'), spec: { action: 'DENY', targetRefs: [{ kind: 'Service', group: '', name: 'backend' }], rules: [{}] } }], ...NO_POLICIES },

  // ---- scopes ----
  { name: 'namespace-wide policy applies to the namespace', docs: [deny('d', [{}], { selector: null })], ...DENIED('demo/d') },
  { name: 'namespace-wide policy of another namespace does not apply', docs: [deny('d', [{}], { selector: null, namespace: 'shop' })], ...NO_POLICIES },
  { name: 'root-namespace policy without selector is global', docs: [deny('d', [{}], { selector: null, namespace: 'istio-system' })], ...DENIED('istio-system/d') },
  { name: 'root-namespace policy with a matching selector applies in any namespace', docs: [deny('d', [{}], { namespace: 'istio-system' })], ...DENIED('istio-system/d') },
  { name: 'root-namespace policy with a selector that does not match', docs: [deny('d', [{}], { namespace: 'istio-system', selector: { app: 'frontend' } })], ...NO_POLICIES },
  { name: 'selector that does not match the workload labels', docs: [deny('d', [{}], { selector: { app: 'frontend' } })], ...NO_POLICIES },
  { name: 'selector needs every pair', docs: [deny('d', [{}], { selector: { app: 'backend', version: 'v2' } })], options: { destination: { labels: { app: 'backend', version: 'v1' } } }, ...NO_POLICIES },
  { name: 'selector policy of another namespace does not apply', docs: [deny('d', [{}], { namespace: 'shop' })], ...NO_POLICIES },
  { name: 'a custom root namespace makes its policies global', docs: [deny('d', [{}], { selector: null, namespace: 'mesh-root' })], options: { rootNamespace: 'mesh-root' }, ...DENIED('mesh-root/d') },
  { name: 'istio-system is not special under a custom root namespace', docs: [deny('d', [{}], { selector: null, namespace: 'istio-system' })], options: { rootNamespace: 'mesh-root' }, ...NO_POLICIES },

  // ---- PeerAuthentication ----
  { name: 'mesh STRICT denies plaintext', docs: [meshStrict], conn: conn({ plaintext: true }), ...DENIED(STATIC_STRICT) },
  { name: 'mesh STRICT allows mTLS', docs: [meshStrict], ...NO_POLICIES },
  { name: 'mesh STRICT with an ALLOW for the plaintext source still denies (DENY first)', docs: [meshStrict, allow('p', [from({ ipBlocks: ['10.0.0.0/24'] })])], conn: conn({ plaintext: true }), ...DENIED(STATIC_STRICT) },
  { name: 'namespace PERMISSIVE overrides mesh STRICT', docs: [meshStrict, peerAuthentication('ns', 'demo', { mtls: { mode: 'PERMISSIVE' } })], conn: conn({ plaintext: true }), ...NO_POLICIES },
  { name: 'namespace DISABLE accepts plaintext', docs: [peerAuthentication('ns', 'demo', { mtls: { mode: 'DISABLE' } })], conn: conn({ plaintext: true }), ...NO_POLICIES },
  { name: 'namespace STRICT denies plaintext', docs: [peerAuthentication('ns', 'demo', { mtls: { mode: 'STRICT' } })], conn: conn({ plaintext: true }), ...DENIED(STATIC_STRICT) },
  {
    name: 'workload STRICT with a PERMISSIVE port accepts plaintext on that port',
    docs: [peerAuthentication('wl', 'demo', { selector: { matchLabels: { app: 'backend' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } })],
    conn: conn({ plaintext: true }),
    ...NO_POLICIES,
  },
  {
    name: 'workload STRICT with a PERMISSIVE port denies plaintext on other ports',
    docs: [peerAuthentication('wl', 'demo', { selector: { matchLabels: { app: 'backend' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } })],
    conn: conn({ plaintext: true, destinationPort: 9090 }),
    ...DENIED('demo/converted_peer_authentication_wl'),
  },
  {
    name: 'workload PERMISSIVE with a STRICT port denies plaintext on that port',
    docs: [peerAuthentication('wl', 'demo', { selector: { matchLabels: { app: 'backend' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '9090': { mode: 'STRICT' } } })],
    conn: conn({ plaintext: true, destinationPort: 9090 }),
    ...DENIED('demo/converted_peer_authentication_wl'),
  },
  {
    name: 'workload PERMISSIVE with a STRICT port accepts plaintext on other ports',
    docs: [peerAuthentication('wl', 'demo', { selector: { matchLabels: { app: 'backend' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '9090': { mode: 'STRICT' } } })],
    conn: conn({ plaintext: true }),
    ...NO_POLICIES,
  },
  {
    name: 'workload port exceptions never deny mTLS',
    docs: [peerAuthentication('wl', 'demo', { selector: { matchLabels: { app: 'backend' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '8080': { mode: 'STRICT' } } })],
    ...NO_POLICIES,
  },

  // ---- dry-run ----
  {
    name: 'a matching dry-run DENY is reported, not enforced',
    docs: [deny('d', [{}], { annotations: { 'istio.io/dry-run': 'true' } })],
    options: { includeDryRun: true },
    ...NO_POLICIES,
    dryRun: [{ policy: 'demo/d', action: 'deny', rule: 0 }],
  },
  {
    name: 'a dry-run ALLOW does not count as an ALLOW policy',
    docs: [allow('a', [from({ namespaces: ['shop'] })], { annotations: { 'istio.io/dry-run': 'true' } })],
    options: { includeDryRun: true },
    ...NO_POLICIES,
    dryRun: [],
  },
  {
    name: 'a dry-run ALLOW does not rescue a connection an enforced ALLOW rejects',
    docs: [allow('a', [{}], { annotations: { 'istio.io/dry-run': 'true' } }), allow('b', [from({ namespaces: ['shop'] })])],
    options: { includeDryRun: true },
    ...NO_MATCH,
    dryRun: [{ policy: 'demo/a', action: 'allow', rule: 0 }],
  },
  { name: 'dry-run policies are not sent by default', docs: [deny('d', [{}], { annotations: { 'istio.io/dry-run': 'true' } })], ...NO_POLICIES },
];

describe('ztunnel/authz evaluate (policies from YAML through istiod conversion)', () => {
  it('has a large table', () => {
    assert.ok(cases.length >= 60, `${cases.length} cases`);
  });
  for (const c of cases) {
    const wantText = `${c.want}${c.policy === undefined ? '' : ` by ${c.policy} rule ${c.rule ?? 0}`} (${c.reason})`;
    it(`${c.name}: ${wantText}`, () => {
      const d = decide(c.docs, c.conn ?? conn(), c.options);
      assert.deepEqual(
        { kind: d.kind, policy: d.policy, rule: d.rule, reason: d.reason, dryRun: d.dryRun },
        { kind: c.want, policy: c.policy, rule: c.rule, reason: c.reason, dryRun: c.dryRun },
      );
    });
  }
});
