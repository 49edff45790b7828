/**
 * istiod's `/debug/syncz`, decoded: one entry per connected xDS stream with
 * the sync state of each type URL (see src/istiod/xds/sync-status.ts for
 * the served shape). Unknown fields are ignored; missing ones are empty.
 */
import { formatTargetAddress, type TargetAddress } from './address.js';
import { TargetError } from './errors.js';
import { fetchJson } from './http-get.js';

export const SYNCZ_PATH = '/debug/syncz';

export interface ProxyTypeStatus {
  readonly typeUrl: string;
  /** SYNCED, STALE or NOT SENT, as istiod computed it. */
  readonly state: string;
  readonly resourceCount: number;
  readonly lastNack?: string;
}

export interface ProxyStatus {
  /** The istiod that reported it, HOST:PORT. */
  readonly istiod: string;
  readonly connectionId: string;
  readonly nodeId: string;
  readonly nodeName: string;
  readonly clusterId: string;
  readonly connectedAt: string;
  readonly version: string;
  readonly types: readonly ProxyTypeStatus[];
  readonly raw: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Decodes a parsed syncz answer from `istiod` (HOST:PORT, for the rows and messages). */
export function decodeSyncz(istiod: string, doc: unknown): ProxyStatus[] {
  if (!Array.isArray(doc))
    throw new TargetError('TARGET_BAD_RESPONSE', `istiod on ${istiod}: ${SYNCZ_PATH} is not a JSON list`);
  return doc.filter(isRecord).map((s) => ({
    istiod,
    connectionId: str(s.connectionId),
    nodeId: str(s.nodeId),
    nodeName: str(s.nodeName),
    clusterId: str(s.clusterId),
    connectedAt: str(s.connectedAt),
    version: str(s.istioVersion) || str(s.version),
    types: (Array.isArray(s.types) ? s.types : []).filter(isRecord).map((t) => ({
      typeUrl: str(t.typeUrl),
      state: str(t.state) || 'NOT SENT',
      resourceCount: typeof t.resourceCount === 'number' ? t.resourceCount : 0,
      lastNack: typeof t.lastNack === 'string' ? t.lastNack : undefined,
    })),
    raw: s,
  }));
}

export async function fetchSyncz(
  address: TargetAddress,
  options: { hint: string; timeoutMs?: number },
): Promise<{ raw: unknown; statuses: ProxyStatus[] }> {
  const raw = await fetchJson(address, SYNCZ_PATH, {
    peer: 'istiod',
    hint: options.hint,
    timeoutMs: options.timeoutMs,
  });
  return { raw, statuses: decodeSyncz(formatTargetAddress(address), raw) };
}
