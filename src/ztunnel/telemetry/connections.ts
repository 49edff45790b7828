/**
 * The node agent's live connections, for `/config_dump` (`connections`) and
 * `/debug/connections`: what `ztunnel-config connections` lists. Entries
 * are added when a connection's result object is created and removed when
 * it closes, so the registry never outlives its connections.
 */

export type ConnectionDirection = 'inbound' | 'outbound';
export type ConnectionProtocol = 'HBONE' | 'TCP';

/** One live connection as the admin pages show it (camelCase, addresses as `ip:port`). */
export interface LiveConnection {
  /** `<namespace>/<name>` of the local pod this connection belongs to, or `unknown`. */
  readonly workload: string;
  readonly direction: ConnectionDirection;
  /** The local pod's side: outbound the app's socket, inbound the address it was reached at. */
  readonly local: string;
  /** The other side: outbound the original destination, inbound the client. */
  readonly remote: string;
  /** Where the bytes actually go: the HBONE target (`:authority`) or the upstream address. */
  readonly remoteTarget: string;
  readonly protocol: ConnectionProtocol;
  /** The verified SPIFFE identity of the peer, when mTLS was used. */
  readonly peerIdentity?: string;
  /** Bytes the local pod sent on this connection so far. */
  readonly bytesSent: number;
  /** Bytes the local pod received on this connection so far. */
  readonly bytesReceived: number;
  /** RFC 3339 start time. */
  readonly startTime: string;
}

/** Anything that can describe itself as a live connection (the connection result). */
export interface LiveConnectionSource {
  snapshot(): LiveConnection;
}

function compare(a: LiveConnection, b: LiveConnection): number {
  const keys = ['workload', 'direction', 'local', 'remote', 'remoteTarget', 'startTime'] as const;
  for (const k of keys) {
    if (a[k] < b[k]) return -1;
    if (a[k] > b[k]) return 1;
  }
  return 0;
}

export class LiveConnections {
  private readonly entries = new Set<LiveConnectionSource>();

  add(entry: LiveConnectionSource): void {
    this.entries.add(entry);
  }

  remove(entry: LiveConnectionSource): void {
    this.entries.delete(entry);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Live connections per direction (both keys always present). */
  countByDirection(): Record<ConnectionDirection, number> {
    const out: Record<ConnectionDirection, number> = { inbound: 0, outbound: 0 };
    for (const e of this.entries) out[e.snapshot().direction] += 1;
    return out;
  }

  /** Every live connection, sorted by workload, direction, local, remote, target, start. */
  dump(): LiveConnection[] {
    return [...this.entries].map((e) => e.snapshot()).sort(compare);
  }
}
