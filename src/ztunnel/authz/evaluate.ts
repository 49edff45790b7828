/**
 * The L4 authorization decision for one connection against the policies that
 * apply to its destination workload, in the node agent's order:
 * 1. dry-run policies are evaluated for the report only;
 * 2. any matching DENY policy denies;
 * 3. with no ALLOW policy, the connection is allowed;
 * 4. any matching ALLOW policy allows; otherwise it is denied.
 * Pure and synchronous: re-checking a live connection after a policy change
 * is one call with the connection prepared once.
 */
import type { CompiledPolicy, PolicyAction } from './compile.js';
import { prepareConnection, type ConnectionAttributes, type PreparedConnection } from './connection.js';

export type DecisionReason = 'denied-by-policy' | 'no-allow-match' | 'allowed-by-policy' | 'no-policies' | 'policies-not-synced';

/** A dry-run policy that matched: what it would have done had it been enforced. */
export interface DryRunMatch {
  /** "<ns>/<name>". */
  readonly policy: string;
  readonly action: PolicyAction;
  /** Index of the matching group. */
  readonly rule: number;
}

export interface Decision {
  readonly kind: 'allow' | 'deny';
  /** "<ns>/<name>" of the deciding policy; absent when no single policy decided. */
  readonly policy?: string;
  /** Index of the deciding policy's matching group. */
  readonly rule?: number;
  /**
   * denied-by-policy: a DENY matched; allowed-by-policy: an ALLOW matched;
   * no-allow-match: ALLOW policies apply and none matched; no-policies: no
   * ALLOW policy applies and no DENY matched; policies-not-synced: the
   * agent has not received its policies yet (fail closed).
   */
  readonly reason: DecisionReason;
  /** Matching dry-run policies, present only when some dry-run policy applies. */
  readonly dryRun?: readonly DryRunMatch[];
}

function isPrepared(conn: ConnectionAttributes | PreparedConnection): conn is PreparedConnection {
  return (conn as PreparedConnection).attributes !== undefined;
}

/**
 * Decides a connection. `conn` may be raw attributes (parsed here; an
 * invalid IP or port throws AuthzError) or a PreparedConnection, which is
 * what a live connection keeps for re-checks.
 */
export function evaluate(policies: readonly CompiledPolicy[], conn: ConnectionAttributes | PreparedConnection): Decision {
  const c = isPrepared(conn) ? conn : prepareConnection(conn);
  let dryRun: DryRunMatch[] | undefined;
  let allowPolicies = 0;
  for (const p of policies) {
    if (p.dryRun) {
      dryRun ??= [];
      const rule = p.matchingGroup(c);
      if (rule >= 0) dryRun.push({ policy: p.key, action: p.action, rule });
      continue;
    }
    if (p.action === 'allow') allowPolicies++;
  }
  const withDryRun = <D extends Decision>(d: D): D => (dryRun === undefined ? d : { ...d, dryRun });
  for (const p of policies) {
    if (p.dryRun || p.action !== 'deny') continue;
    const rule = p.matchingGroup(c);
    if (rule >= 0) return withDryRun({ kind: 'deny', policy: p.key, rule, reason: 'denied-by-policy' });
  }
  if (allowPolicies === 0) return withDryRun({ kind: 'allow', reason: 'no-policies' });
  for (const p of policies) {
    if (p.dryRun || p.action !== 'allow') continue;
    const rule = p.matchingGroup(c);
    if (rule >= 0) return withDryRun({ kind: 'allow', policy: p.key, rule, reason: 'allowed-by-policy' });
  }
  return withDryRun({ kind: 'deny', reason: 'no-allow-match' });
}
