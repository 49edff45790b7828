/**
 * Inbound connections that passed authorization, kept so that a policy
 * change re-checks them (ztunnel's late rejection): a connection the new
 * policies deny is closed.
 */
import type { LiveConnection, PolicySet, PreparedConnection, WorkloadPolicyRef } from '../authz/index.js';

export interface LiveInboundEntry extends LiveConnection {
  readonly workload: WorkloadPolicyRef;
  readonly connection: PreparedConnection;
  readonly destroy: () => void;
  revoked: boolean;
}

export class LiveInbound {
  private readonly entries = new Set<LiveInboundEntry>();

  add(e: Omit<LiveInboundEntry, 'revoked'>): LiveInboundEntry {
    const entry: LiveInboundEntry = { ...e, revoked: false };
    this.entries.add(entry);
    return entry;
  }

  remove(entry: LiveInboundEntry): void {
    this.entries.delete(entry);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Re-evaluates every live connection and closes the ones now denied; returns how many. */
  recheck(policies: PolicySet): number {
    let closed = 0;
    for (const { connection, decision } of policies.recheck(this.entries)) {
      if (decision.kind !== 'deny') continue;
      connection.revoked = true;
      connection.destroy();
      closed++;
    }
    return closed;
  }
}
