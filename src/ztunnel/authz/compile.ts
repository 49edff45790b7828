/**
 * Compiles `istio.security.Authorization` resources into matchers once, when
 * they change, with the node agent's semantics:
 * - a policy with no groups never matches;
 * - groups are OR-ed, a group's clauses (`Rules`) AND-ed, a clause's
 *   matches OR-ed; a group with no clauses and a clause with no matches
 *   match everything;
 * - within a Match every populated field kind must pass: a positive list
 *   needs one entry to match, a negative list needs none to;
 * - a Match with no field set is skipped (never matches), so a clause whose
 *   matches are all empty fails;
 * - entries the agent cannot use (a prefix of the wrong size, a StringMatch
 *   without a type) are dropped from their list first, so a list left
 *   empty stops constraining; ports compare as 16-bit values.
 */
import {
  Action,
  Scope,
  type Address,
  type Authorization,
  type Match,
  type ServiceAccountMatch,
  type StringMatch,
} from '../../gen/istio/security/authorization_pb.js';
import { cidrContains, cidrFromWire, type Cidr } from '../../shared/net/index.js';
import type { PreparedConnection } from './connection.js';
import { AuthzError } from './errors.js';

export type PolicyAction = 'allow' | 'deny';
export type PolicyScope = 'global' | 'namespace' | 'workload-selector';

/** A compiled policy; immutable, shareable between connections. */
export interface CompiledPolicy {
  /** "<namespace>/<name>", the key workloads list. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly scope: PolicyScope;
  readonly action: PolicyAction;
  /** Dry-run policies are evaluated and reported but never decide. */
  readonly dryRun: boolean;
  /** The resource this was compiled from. */
  readonly source: Authorization;
  /** Index of the first group the connection matches, or -1. */
  matchingGroup(conn: PreparedConnection): number;
}

type Predicate = (conn: PreparedConnection) => boolean;

export type StringMatcher =
  | { readonly kind: 'exact' | 'prefix' | 'suffix'; readonly value: string }
  | { readonly kind: 'presence' };

function compileString(m: StringMatch): StringMatcher | undefined {
  switch (m.matchType.case) {
    case 'exact':
    case 'prefix':
    case 'suffix':
      return { kind: m.matchType.case, value: m.matchType.value };
    case 'presence':
      return { kind: 'presence' };
    default:
      return undefined;
  }
}

/** `presence` means non-empty. */
export function stringMatches(m: StringMatcher, s: string): boolean {
  switch (m.kind) {
    case 'exact':
      return s === m.value;
    case 'prefix':
      return s.startsWith(m.value);
    case 'suffix':
      return s.endsWith(m.value);
    case 'presence':
      return s !== '';
  }
}

function compact<T, U>(list: readonly T[], f: (t: T) => U | undefined): U[] {
  const out: U[] = [];
  for (const t of list) {
    const u = f(t);
    if (u !== undefined) out.push(u);
  }
  return out;
}

/**
 * One field kind: passes when the positive list is empty or has a hit, and
 * the negative list is empty or has none. Undefined when both are empty.
 */
function field<T>(positive: readonly T[], negative: readonly T[], hit: (entry: T, conn: PreparedConnection) => boolean): Predicate | undefined {
  if (positive.length === 0 && negative.length === 0) return undefined;
  const any = (list: readonly T[], conn: PreparedConnection): boolean => {
    for (const e of list) if (hit(e, conn)) return true;
    return false;
  };
  if (negative.length === 0) return (conn) => any(positive, conn);
  if (positive.length === 0) return (conn) => !any(negative, conn);
  return (conn) => any(positive, conn) && !any(negative, conn);
}

const cidrs = (list: readonly Address[]): Cidr[] => compact(list, (a) => cidrFromWire(a.address, a.length));
const strings = (list: readonly StringMatch[]): StringMatcher[] => compact(list, compileString);
// The wire carries uint32; the agent compares the low 16 bits with the port.
const ports = (list: readonly number[]): number[] => list.map((p) => p & 0xffff);

/** A Match to its predicate; undefined when no field is set (the match is skipped). */
function compileMatch(m: Match): Predicate | undefined {
  const checks = compact<Predicate | undefined, Predicate>(
    [
      field(cidrs(m.destinationIps), cidrs(m.notDestinationIps), (c, conn) => cidrContains(c, conn.destinationIp)),
      field(cidrs(m.sourceIps), cidrs(m.notSourceIps), (c, conn) => cidrContains(c, conn.sourceIp)),
      field(ports(m.destinationPorts), ports(m.notDestinationPorts), (p, conn) => p === conn.destinationPort),
      field<ServiceAccountMatch>(m.serviceAccounts, m.notServiceAccounts, (sa, conn) => {
        const id = conn.identity;
        // No identity never matches a service account.
        return id !== undefined && id.serviceAccount === sa.serviceAccount && id.namespace === sa.namespace;
      }),
      field(strings(m.principals), strings(m.notPrincipals), (s, conn) => {
        // Principals are compared without "spiffe://"; a plaintext peer has none, which matches nothing.
        return conn.identity !== undefined && stringMatches(s, conn.identity.principal);
      }),
      field(strings(m.namespaces), strings(m.notNamespaces), (s, conn) => stringMatches(s, conn.namespace)),
    ],
    (p) => p,
  );
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (conn) => {
    for (const check of checks) if (!check(conn)) return false;
    return true;
  };
}

/** A clause: its non-empty matches, and whether it had no matches at all (then it always passes). */
interface CompiledClause {
  readonly matches: readonly Predicate[];
  readonly unconstrained: boolean;
}

function clausePasses(clause: CompiledClause, conn: PreparedConnection): boolean {
  if (clause.unconstrained) return true;
  for (const m of clause.matches) if (m(conn)) return true;
  return false;
}

const SCOPES: Readonly<Record<Scope, PolicyScope>> = {
  [Scope.GLOBAL]: 'global',
  [Scope.NAMESPACE]: 'namespace',
  [Scope.WORKLOAD_SELECTOR]: 'workload-selector',
};

/**
 * Compiles one resource. An unknown scope or action is an AuthzError
 * (AUTHZ_INVALID_POLICY): the node agent rejects such a resource rather
 * than guess, so the xDS client NACKs it and keeps the last good version.
 */
export function compilePolicy(a: Authorization): CompiledPolicy {
  const key = `${a.namespace}/${a.name}`;
  const scope = SCOPES[a.scope] as PolicyScope | undefined;
  if (scope === undefined) throw new AuthzError('AUTHZ_INVALID_POLICY', `authorization ${key}: unknown scope ${a.scope}`);
  if (a.action !== Action.ALLOW && a.action !== Action.DENY) {
    throw new AuthzError('AUTHZ_INVALID_POLICY', `authorization ${key}: unknown action ${a.action}`);
  }
  const groups: (readonly CompiledClause[])[] = a.groups.map((g) =>
    g.rules.map((r) => ({ matches: compact(r.matches, compileMatch), unconstrained: r.matches.length === 0 })),
  );
  return {
    key,
    name: a.name,
    namespace: a.namespace,
    scope,
    action: a.action === Action.DENY ? 'deny' : 'allow',
    dryRun: a.dryRun,
    source: a,
    matchingGroup(conn: PreparedConnection): number {
      for (let i = 0; i < groups.length; i++) {
        let all = true;
        for (const clause of groups[i] as readonly CompiledClause[]) {
          if (!clausePasses(clause, conn)) {
            all = false;
            break;
          }
        }
        if (all) return i;
      }
      return -1;
    },
  };
}
