/**
 * `ambit bpf` output: an instance's pinned eBPF state (programs, maps,
 * enrolled pods, decision counters) as tables.
 */
import type { RedirectStatus } from '../../ztunnel/index.js';
import { formatLines, formatTable, TABLE_PADDING, WIDE_TABLE_PADDING } from './table.js';

export const POD_HEADER = [
  'UID',
  'IPS',
  'NETNS COOKIE',
  'CGROUP ID',
  'INBOUND LISTENER',
  'LINKS',
  'EXCLUDED PORTS',
  'EXCLUDED CIDRS',
] as const;
export const MAP_HEADER = ['MAP', 'ENTRIES'] as const;
export const COUNTER_HEADER = ['COUNTER', 'VALUE'] as const;

export interface MapRow {
  readonly name: string;
  /** Entries in the map, or undefined when the status does not say (per-connection maps). */
  readonly entries?: number;
}

function listOrDash(values: readonly (string | number)[]): string {
  return values.length === 0 ? '-' : values.join(',');
}

/** Entry counts the status can tell: one `pods` entry per pod, one `pod_addrs` per pod IP, one `listeners` per inbound listener, one `counters` slot per counter. */
export function mapRows(status: RedirectStatus): MapRow[] {
  const known: Readonly<Record<string, number>> = {
    pods: status.pods.length,
    pod_addrs: status.pods.reduce((n, p) => n + p.ips.length, 0),
    listeners: status.pods.filter((p) => p.inboundListener).length,
    counters: Object.keys(status.counters).length,
  };
  return status.maps.map((name) => ({ name, entries: known[name] }));
}

export function mapTable(status: RedirectStatus): string {
  return formatTable(
    MAP_HEADER,
    mapRows(status).map((m) => [m.name, m.entries === undefined ? '-' : String(m.entries)]),
    { padding: WIDE_TABLE_PADDING },
  );
}

export function podTable(status: RedirectStatus): string {
  const rows = [...status.pods]
    .sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0))
    .map((p) => [
      p.uid,
      listOrDash(p.ips),
      p.netnsCookie.toString(),
      p.cgroupId.toString(),
      p.inboundListener ? 'yes' : 'no',
      listOrDash(p.links),
      listOrDash(p.excludedPorts),
      listOrDash(p.excludedCidrs),
    ]);
  return formatTable(POD_HEADER, rows, { padding: WIDE_TABLE_PADDING });
}

export function counterTable(status: RedirectStatus): string {
  const rows = Object.entries(status.counters).map(([name, value]) => [name, String(value)]);
  return formatTable(COUNTER_HEADER, rows, { padding: WIDE_TABLE_PADDING });
}

/** The summary lines, then the counters. */
export function statusText(status: RedirectStatus): string {
  const summary = formatLines(
    [
      ['Instance:', status.instance],
      ['Pin dir:', status.pinDir],
      ['Programs:', listOrDash(status.programs)],
      ['Maps:', listOrDash(status.maps)],
      ['Enrolled pods:', String(status.pods.length)],
      ['Inbound listeners:', String(status.pods.filter((p) => p.inboundListener).length)],
    ],
    { padding: TABLE_PADDING },
  );
  return `${summary}\n${counterTable(status)}`;
}
