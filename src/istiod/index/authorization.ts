/**
 * AuthorizationPolicy to the L4 istio.security.Authorization a node agent
 * enforces, with istiod's rules: targetRef policies belong to waypoints,
 * AUDIT/CUSTOM and dry-run policies are not sent, and HTTP-only attributes
 * drop the whole rule in an ALLOW policy but are only omitted in a DENY one.
 */
import { create } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import {
  Action,
  AddressSchema,
  AuthorizationSchema,
  GroupSchema,
  MatchSchema,
  RulesSchema,
  Scope,
  ServiceAccountMatchSchema,
  StringMatchSchema,
  type Address,
  type Authorization,
  type Match,
  type Rules,
  type ServiceAccountMatch,
  type StringMatch,
} from '../../gen/istio/security/authorization_pb.js';
import type { AuthzCondition, AuthzRule, ConfigObject } from '../config/types.js';
import { parseIpExact, parsePrefix } from '../../shared/net/index.js';

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

/** The result of converting one policy: the resource to send (if any) and a status note. */
export interface ConvertedPolicy {
  readonly authorization: Authorization | undefined;
  /** Why the policy is not sent or is sent narrowed; undefined when it converts cleanly. */
  readonly status: string | undefined;
}

const L4_WHEN_KEYS = new Set([
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
]);

/** `*` = presence, `*x` = suffix, `x*` = prefix, else exact. */
export function stringMatches(values: readonly string[] | undefined): StringMatch[] {
  return (values ?? []).map((v) => {
    if (v === '*')
      return create(StringMatchSchema, { matchType: { case: 'presence', value: create(EmptySchema) } });
    if (v.startsWith('*'))
      return create(StringMatchSchema, { matchType: { case: 'suffix', value: v.slice(1) } });
    if (v.endsWith('*'))
      return create(StringMatchSchema, { matchType: { case: 'prefix', value: v.slice(0, -1) } });
    return create(StringMatchSchema, { matchType: { case: 'exact', value: v } });
  });
}

/** Decimal ports up to 65535; anything else is dropped. */
export function ports(values: readonly string[] | undefined): number[] {
  const out: number[] = [];
  for (const v of values ?? []) {
    if (!/^\d+$/.test(v)) continue;
    const n = Number(v);
    if (n <= 65535) out.push(n);
  }
  return out;
}

/** IPs and CIDRs; a bare IP is a /32 or /128; unparsable entries are dropped. */
export function addresses(values: readonly string[] | undefined): Address[] {
  const out: Address[] = [];
  for (const v of values ?? []) {
    if (v === '') continue;
    const p = parsePrefix(v, parseIpExact);
    if (p !== undefined) out.push(create(AddressSchema, { address: p.address, length: p.bits }));
  }
  return out;
}

/** "ns/sa" names its namespace; a bare "sa" is in the policy's namespace. */
export function serviceAccountMatches(
  values: readonly string[] | undefined,
  policyNamespace: string,
): ServiceAccountMatch[] {
  return (values ?? []).map((v) => {
    const slash = v.indexOf('/');
    return slash >= 0
      ? create(ServiceAccountMatchSchema, {
          namespace: v.slice(0, slash),
          serviceAccount: v.slice(slash + 1),
        })
      : create(ServiceAccountMatchSchema, { namespace: policyNamespace, serviceAccount: v });
  });
}

function whenValues<T>(
  when: AuthzCondition,
  key: string,
  negate: boolean,
  f: (v: readonly string[] | undefined) => T[],
): T[] {
  if (when.key !== key) return [];
  return f(negate ? when.notValues : when.values);
}

/** One rule to its clauses (all `to` in one, all `from` in one, one per `when`) and the HTTP-only fields it used. */
function convertRule(
  action: Action,
  rule: AuthzRule,
  policyNamespace: string,
): { clauses: Rules[] | undefined; http: string[] } {
  const http: string[] = [];
  const toMatches: Match[] = [];
  for (const to of rule.to ?? []) {
    const op = to.operation;
    for (const f of ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const) {
      if ((op[f]?.length ?? 0) > 0) http.push(f);
    }
    toMatches.push(
      create(MatchSchema, { destinationPorts: ports(op.ports), notDestinationPorts: ports(op.notPorts) }),
    );
  }
  const fromMatches: Match[] = [];
  for (const from of rule.from ?? []) {
    const s = from.source;
    for (const f of [
      'remoteIpBlocks',
      'notRemoteIpBlocks',
      'requestPrincipals',
      'notRequestPrincipals',
    ] as const) {
      if ((s[f]?.length ?? 0) > 0) http.push(f);
    }
    fromMatches.push(
      create(MatchSchema, {
        sourceIps: addresses(s.ipBlocks),
        notSourceIps: addresses(s.notIpBlocks),
        namespaces: stringMatches(s.namespaces),
        notNamespaces: stringMatches(s.notNamespaces),
        serviceAccounts: serviceAccountMatches(s.serviceAccounts, policyNamespace),
        notServiceAccounts: serviceAccountMatches(s.notServiceAccounts, policyNamespace),
        principals: stringMatches(s.principals),
        notPrincipals: stringMatches(s.notPrincipals),
      }),
    );
  }
  const clauses: Rules[] = [];
  if (toMatches.length > 0) clauses.push(create(RulesSchema, { matches: toMatches }));
  if (fromMatches.length > 0) clauses.push(create(RulesSchema, { matches: fromMatches }));
  for (const when of rule.when ?? []) {
    if (!L4_WHEN_KEYS.has(when.key)) http.push(when.key);
    const match = create(MatchSchema, {
      namespaces: whenValues(when, 'source.namespace', false, stringMatches),
      principals: whenValues(when, 'source.principal', false, stringMatches),
      sourceIps: whenValues(when, 'source.ip', false, addresses),
      destinationPorts: whenValues(when, 'destination.port', false, ports),
      destinationIps: whenValues(when, 'destination.ip', false, addresses),
      notNamespaces: whenValues(when, 'source.namespace', true, stringMatches),
      notPrincipals: whenValues(when, 'source.principal', true, stringMatches),
      notSourceIps: whenValues(when, 'source.ip', true, addresses),
      notDestinationPorts: whenValues(when, 'destination.port', true, ports),
      notDestinationIps: whenValues(when, 'destination.ip', true, addresses),
    });
    clauses.push(create(RulesSchema, { matches: [match] }));
  }
  // An HTTP attribute can never be satisfied at L4: such an ALLOW rule could only
  // widen access, so it is dropped. A DENY keeps its L4 parts (more restrictive).
  if (action === Action.ALLOW && http.length > 0) return { clauses: undefined, http };
  return { clauses, http };
}

/** Converts one AuthorizationPolicy for ztunnel; `authorization` is undefined when it is not sent. */
export function convertAuthorizationPolicy(
  rootNamespace: string,
  ap: ConfigObject<'AuthorizationPolicy'>,
): ConvertedPolicy {
  const { name, namespace, annotations } = ap.metadata;
  const spec = ap.spec;
  const dryRunText = annotations[DRY_RUN_ANNOTATION];
  if (dryRunText !== undefined && ['1', 't', 'true'].includes(dryRunText.toLowerCase())) {
    return {
      authorization: undefined,
      status: `found policy "${namespace}/${name}" using dry-run annotation, but support for ambient dry-run authorizationPolicies isn't enabled`,
    };
  }
  if (spec.targetRef !== undefined || (spec.targetRefs?.length ?? 0) > 0) {
    // Policies attached by targetRef are enforced by waypoints and gateways.
    return { authorization: undefined, status: undefined };
  }
  const specAction = spec.action ?? 'ALLOW';
  if (specAction !== 'ALLOW' && specAction !== 'DENY') {
    return { authorization: undefined, status: `ztunnel does not support the ${specAction} action` };
  }
  const action = specAction === 'DENY' ? Action.DENY : Action.ALLOW;
  const scope =
    spec.selector !== undefined
      ? Scope.WORKLOAD_SELECTOR
      : namespace === rootNamespace
        ? Scope.GLOBAL
        : Scope.NAMESPACE;
  const authorization = create(AuthorizationSchema, { name, namespace, scope, action });
  const http = new Set<string>();
  for (const rule of spec.rules ?? []) {
    const converted = convertRule(action, rule, namespace);
    if (converted.clauses !== undefined)
      authorization.groups.push(create(GroupSchema, { rules: converted.clauses }));
    for (const h of converted.http) http.add(h);
  }
  if (http.size === 0) return { authorization, status: undefined };
  const found = [...http].sort().join(', ');
  const consequence =
    action === Action.DENY
      ? hasEffectiveGroups(authorization)
        ? 'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.'
        : 'After omitting unsupported HTTP attributes, this DENY policy has no enforceable rules at ztunnel and will have no effect. Deploy a waypoint proxy and use a targetRef to enforce this policy.'
      : 'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.';
  return {
    authorization,
    status: `ztunnel does not support HTTP attributes (found: ${found}). In ambient mode you must use a waypoint proxy to enforce HTTP rules. ${consequence}`,
  };
}

function isEmptyMatch(m: Match): boolean {
  return (
    m.namespaces.length +
      m.notNamespaces.length +
      m.serviceAccounts.length +
      m.notServiceAccounts.length +
      m.principals.length +
      m.notPrincipals.length +
      m.sourceIps.length +
      m.notSourceIps.length +
      m.destinationIps.length +
      m.notDestinationIps.length +
      m.destinationPorts.length +
      m.notDestinationPorts.length +
      m.extensions.length ===
    0
  );
}

/**
 * Whether some group can match at ztunnel: a group without clauses matches
 * everything; a clause whose matches are all empty never matches.
 */
export function hasEffectiveGroups(a: Authorization): boolean {
  return a.groups.some((g) => g.rules.every((clause) => clause.matches.some((m) => !isEmptyMatch(m))));
}
