/** What `/debug/syncz` shows per connected proxy. */

/**
 * SYNCED: the last response sent was acknowledged. STALE: a response is
 * unacknowledged or was rejected. NOT SENT: nothing sent yet for the type.
 */
export type SyncState = 'SYNCED' | 'STALE' | 'NOT SENT';

export interface TypeSyncStatus {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  /** Explicitly subscribed names and aliases, sorted. */
  readonly subscribed: readonly string[];
  /** How many resources the client holds as far as the server knows (delta), or got last (SotW). */
  readonly resourceCount: number;
  readonly nonceSent: string;
  readonly nonceAcked: string;
  readonly versionSent: string;
  readonly versionAcked: string;
  readonly state: SyncState;
  /** The client's error detail of the last NACK, until the next ACK. */
  readonly lastNack?: string;
  /** When that NACK arrived (ISO 8601). */
  readonly lastNackAt?: string;
  readonly responsesSent: number;
  /** Changes are queued and not yet sent (the client is slow or a push is in flight). */
  readonly pending: boolean;
}

export interface SyncStatus {
  /** Unique per stream within this server. */
  readonly connectionId: string;
  readonly protocol: 'delta' | 'sotw';
  /** The raw node id, empty until the first request arrived. */
  readonly nodeId: string;
  /** `node.metadata.NODE_NAME`, or the node id. */
  readonly nodeName: string;
  readonly clusterId: string;
  /** ISO 8601. */
  readonly connectedAt: string;
  readonly peer: string;
  readonly types: readonly TypeSyncStatus[];
}

export function syncState(nonceSent: string, nonceAcked: string, lastNack: string | undefined): SyncState {
  if (nonceSent === '') return 'NOT SENT';
  return nonceAcked === nonceSent && lastNack === undefined ? 'SYNCED' : 'STALE';
}
