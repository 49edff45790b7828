/**
 * `ambit proxy-status` as a table: istioctl's recent layout for proxies that
 * are not Envoy (`NAME  CLUSTER  ISTIOD  VERSION  SUBSCRIBED TYPES`), plus
 * the node, when the stream connected, and one column per type with its
 * sync state (SYNCED, STALE, NOT SENT; `-` when the proxy did not subscribe).
 */
import type { ProxyStatus } from '../targets/sync-status.js';
import { formatTable, WIDE_TABLE_PADDING } from './table.js';

/** Types that always get a column, in this order: what a node agent subscribes to. */
export const AMBIENT_TYPE_COLUMNS = ['ADDRESS', 'AUTHORIZATION'] as const;

/** "type.googleapis.com/istio.workload.Address" -> "ADDRESS". */
export function shortTypeName(typeUrl: string): string {
  const last = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return last.slice(last.lastIndexOf('.') + 1).toUpperCase();
}

/** The proxy's name: the `<pod>.<namespace>` of a sidecar-style node id (`type~ip~id~domain`), else the node name. */
export function proxyName(s: ProxyStatus): string {
  const parts = s.nodeId.split('~');
  if (parts.length === 4 && parts[2] !== '') return parts[2] as string;
  return s.nodeId || s.nodeName || s.connectionId;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortStatuses(statuses: readonly ProxyStatus[]): ProxyStatus[] {
  return [...statuses].sort(
    (a, b) =>
      compare(a.clusterId, b.clusterId) ||
      compare(proxyName(a), proxyName(b)) ||
      compare(a.istiod, b.istiod) ||
      compare(a.connectionId, b.connectionId),
  );
}

export function proxyStatusTable(statuses: readonly ProxyStatus[]): string {
  const others = new Set<string>();
  for (const s of statuses) for (const t of s.types) others.add(shortTypeName(t.typeUrl));
  for (const c of AMBIENT_TYPE_COLUMNS) others.delete(c);
  const typeColumns = [...AMBIENT_TYPE_COLUMNS, ...[...others].sort()];
  const header = [
    'NAME',
    'CLUSTER',
    'NODE',
    'ISTIOD',
    'VERSION',
    'SUBSCRIBED TYPES',
    'CONNECTED SINCE',
    ...typeColumns,
  ];
  const rows = sortStatuses(statuses).map((s) => {
    const byShort = new Map(s.types.map((t) => [shortTypeName(t.typeUrl), t] as const));
    const subscribed = [...byShort.keys()].sort((a, b) => typeColumns.indexOf(a) - typeColumns.indexOf(b));
    return [
      proxyName(s),
      s.clusterId || '-',
      s.nodeName || '-',
      s.istiod,
      s.version || '-',
      `${subscribed.length} (${subscribed.join(',')})`,
      s.connectedAt || '-',
      ...typeColumns.map((c) => byShort.get(c)?.state ?? '-'),
    ];
  });
  return formatTable(header, rows, { padding: WIDE_TABLE_PADDING });
}
