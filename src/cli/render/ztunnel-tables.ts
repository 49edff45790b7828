/**
 * The tables of `ambit ztunnel-config`, column for column as istioctl's
 * `ztunnel-config` prints them: the same headers, cell values (`None` for no
 * waypoint, `NA` for an unknown one, `healthy/total` endpoints, serial
 * numbers in hex, names substituted for addresses in connections), sorting
 * and tabwriter alignment.
 */
import type {
  ConfigDump,
  DumpCert,
  DumpCertificate,
  DumpConnection,
  DumpPolicy,
  DumpService,
  DumpWorkload,
  WaypointRef,
} from '../targets/config-dump.js';
import { formatTable, TABLE_PADDING, WIDE_TABLE_PADDING } from './table.js';

export const WORKLOAD_HEADER = ['NAMESPACE', 'POD NAME', 'ADDRESS', 'NODE', 'WAYPOINT', 'PROTOCOL'] as const;
export const SERVICE_HEADER = ['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS'] as const;
export const POLICY_HEADER = ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'] as const;
export const CERTIFICATE_HEADER = [
  'CERTIFICATE NAME',
  'TYPE',
  'STATUS',
  'VALID CERT',
  'SERIAL NUMBER',
  'NOT AFTER',
  'NOT BEFORE',
] as const;
export const CONNECTION_HEADER = [
  'WORKLOAD',
  'DIRECTION',
  'LOCAL',
  'REMOTE',
  'REMOTE TARGET',
  'PROTOCOL',
] as const;

/** The section headers of `all`, in order. */
export const SECTION_TITLES = [
  'WORKLOAD INFO',
  'SERVICE INFO',
  'POLICY INFO',
  'SECRET INFO',
  'CONNECTIONS INFO',
] as const;

export interface WorkloadFilter {
  readonly namespace?: string;
  readonly node?: string;
  readonly address?: string;
}

export interface ServiceFilter {
  readonly namespace?: string;
}

export interface PolicyFilter {
  readonly namespace?: string;
}

export interface ConnectionFilter {
  readonly namespace?: string;
  readonly direction?: 'inbound' | 'outbound';
  /** Print addresses as served instead of substituting service and workload names. */
  readonly raw?: boolean;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameFold(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The IP of "<network>/<ip>"; a bare IP as is. */
function vipAddress(vip: string): string {
  const slash = vip.indexOf('/');
  return slash < 0 ? vip : vip.slice(slash + 1);
}

/** The waypoint's service name: `None` without a waypoint, `NA` when no service matches. */
export function waypointName(ref: WaypointRef | undefined, services: readonly DumpService[]): string {
  if (ref === undefined) return 'None';
  const key = ref.kind === 'address' ? ref.address : `${ref.namespace}/${ref.hostname}`;
  for (const s of services) {
    if (`${s.namespace}/${s.hostname}` === key) return s.name;
    if (s.vips.includes(key)) return s.name;
  }
  return 'NA';
}

export function filterWorkloads(dump: ConfigDump, f: WorkloadFilter): DumpWorkload[] {
  return dump.workloads
    .filter(
      (w) =>
        (f.namespace === undefined || sameFold(w.namespace, f.namespace)) &&
        (f.node === undefined || sameFold(w.node, f.node)) &&
        (f.address === undefined || w.workloadIps.some((ip) => sameFold(ip, f.address as string))),
    )
    .sort(
      (a, b) => compare(`${a.namespace}.${a.name}`, `${b.namespace}.${b.name}`) || compare(a.node, b.node),
    );
}

export function workloadTable(dump: ConfigDump, f: WorkloadFilter = {}): string {
  const rows = filterWorkloads(dump, f).map((w) => [
    w.namespace,
    w.name,
    w.workloadIps.length > 0 ? w.workloadIps.join(',') : w.hostname,
    w.node,
    waypointName(w.waypoint, dump.services),
    w.protocol,
  ]);
  return formatTable(WORKLOAD_HEADER, rows, { padding: TABLE_PADDING });
}

export function filterServices(dump: ConfigDump, f: ServiceFilter): DumpService[] {
  return dump.services
    .filter((s) => f.namespace === undefined || sameFold(s.namespace, f.namespace))
    .sort(
      (a, b) =>
        compare(a.namespace, b.namespace) || compare(a.name, b.name) || compare(a.hostname, b.hostname),
    );
}

/** "healthy/total": endpoints whose workload is known and Healthy, over all endpoints. */
export function endpointSummary(s: DumpService, workloadsByUid: ReadonlyMap<string, DumpWorkload>): string {
  const healthy = s.endpointWorkloadUids.filter(
    (uid) => workloadsByUid.get(uid)?.status === 'Healthy',
  ).length;
  return `${healthy}/${s.endpointWorkloadUids.length}`;
}

export function serviceTable(dump: ConfigDump, f: ServiceFilter = {}): string {
  const byUid = new Map(dump.workloads.map((w) => [w.uid, w] as const));
  const rows = filterServices(dump, f).map((s) => [
    s.namespace,
    s.name,
    s.vips.map(vipAddress).join(','),
    waypointName(s.waypoint, dump.services),
    endpointSummary(s, byUid),
  ]);
  return formatTable(SERVICE_HEADER, rows, { padding: TABLE_PADDING });
}

export function filterPolicies(dump: ConfigDump, f: PolicyFilter): DumpPolicy[] {
  return dump.policies
    .filter((p) => f.namespace === undefined || sameFold(p.namespace, f.namespace))
    .sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
}

export function policyTable(dump: ConfigDump, f: PolicyFilter = {}): string {
  const rows = filterPolicies(dump, f).map((p) => [p.namespace, p.name, p.action, p.scope]);
  return formatTable(POLICY_HEADER, rows, { padding: TABLE_PADDING });
}

function orNA(v: string): string {
  return v === '' ? 'NA' : v;
}

/** A decimal serial number in lower-case hex without leading zeros; text that is not a decimal number as is. */
export function serialHex(decimal: string): string {
  if (!/^\d+$/.test(decimal)) return orNA(decimal);
  return BigInt(decimal).toString(16);
}

/** The SERIAL NUMBER cell: from the hex read off a PEM, else from the served decimal. */
export function certSerial(c: DumpCert): string {
  if (c.serialHex !== undefined && /^[0-9A-Fa-f]+$/.test(c.serialHex))
    return BigInt(`0x${c.serialHex}`).toString(16);
  return serialHex(c.serialNumber);
}

/** Whether `now` lies strictly inside the certificate's validity (false when a date is missing or unreadable). */
export function certValid(c: DumpCert, now: Date): boolean {
  if (c.validFrom === '' || c.expirationTime === '') return false;
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.expirationTime);
  if (Number.isNaN(from) || Number.isNaN(to)) return false;
  return now.getTime() > from && now.getTime() < to;
}

function certificateRows(c: DumpCertificate, now: Date): string[][] {
  const state = c.state.includes('Unavailable') ? 'Unavailable' : c.state;
  if (c.certChain.length === 0) return [[c.identity, 'NA', state, 'false', 'NA', 'NA', 'NA']];
  // Older dumps carried the root as the last element of certChain and no rootCerts.
  const legacy = c.rootCerts.length === 0;
  const row = (type: string, x: DumpCert): string[] => [
    c.identity,
    type,
    state,
    String(certValid(x, now)),
    certSerial(x),
    orNA(x.expirationTime),
    orNA(x.validFrom),
  ];
  return [
    ...c.certChain.map((x, i) =>
      row(i === 0 ? 'Leaf' : i === c.certChain.length - 1 && legacy ? 'Root' : 'Intermediate', x),
    ),
    ...c.rootCerts.map((x) => row('Root', x)),
  ];
}

/** One row per certificate of each identity, in the order served (istioctl does not sort them). */
export function certificateTable(dump: ConfigDump, now: Date = new Date()): string {
  const rows = dump.certificates.flatMap((c) => certificateRows(c, now));
  return formatTable(CERTIFICATE_HEADER, rows, { padding: WIDE_TABLE_PADDING });
}

/** "host:port" to its parts, brackets removed; undefined when it is not of that form. */
function splitHostPort(addr: string): { host: string; port: string } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:[\]]*)$/.exec(addr);
  if (m === null) return undefined;
  return { host: m[1] ?? m[2] ?? '', port: m[3] ?? '' };
}

function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Replaces the IP of "ip:port" with the service hostname (first VIP) or workload "name.namespace" (first IP). */
export function addressNamer(dump: ConfigDump): (addr: string) => string {
  const serviceNames = new Map<string, string>();
  const workloadNames = new Map<string, string>();
  for (const s of dump.services)
    serviceNames.set(s.vips.length > 0 ? vipAddress(s.vips[0] as string) : 'None', s.hostname);
  for (const w of dump.workloads) workloadNames.set(w.workloadIps[0] ?? 'None', `${w.name}.${w.namespace}`);
  return (addr) => {
    const hp = splitHostPort(addr);
    if (hp === undefined) return addr;
    const name = serviceNames.get(hp.host) ?? workloadNames.get(hp.host);
    return name === undefined ? addr : joinHostPort(name, hp.port);
  };
}

export function filterConnections(dump: ConfigDump, f: ConnectionFilter): DumpConnection[] {
  const rank = (d: DumpConnection['direction']): number => (d === 'inbound' ? 0 : 1);
  return dump.connections
    .filter(
      (c) =>
        (f.namespace === undefined || c.workloadNamespace === f.namespace) &&
        (f.direction === undefined || c.direction === f.direction),
    )
    .map((c, i) => ({ c, i }))
    .sort(
      (a, b) =>
        compare(a.c.workloadNamespace, b.c.workloadNamespace) ||
        compare(a.c.workloadName, b.c.workloadName) ||
        rank(a.c.direction) - rank(b.c.direction) ||
        a.i - b.i,
    )
    .map(({ c }) => c);
}

export function connectionTable(dump: ConfigDump, f: ConnectionFilter = {}): string {
  const named = f.raw === true ? (a: string): string => a : addressNamer(dump);
  const rows = filterConnections(dump, f).map((c) => [
    `${c.workloadName}.${c.workloadNamespace}`,
    c.direction === 'inbound' ? 'Inbound' : 'Outbound',
    named(c.local),
    named(c.remote),
    // istioctl shows an inbound connection's original destination as served.
    c.direction === 'inbound' ? c.target : named(c.target),
    c.protocol,
  ]);
  return formatTable(CONNECTION_HEADER, rows, { padding: TABLE_PADDING });
}

/** The five tables, each after a blank line, and after its `------ <TITLE> ------` header when asked. */
export function allTables(dump: ConfigDump, options: { withHeaders: boolean; now?: Date }): string {
  const tables = [
    workloadTable(dump),
    serviceTable(dump),
    policyTable(dump),
    certificateTable(dump, options.now),
    connectionTable(dump),
  ];
  return tables
    .map((t, i) =>
      options.withHeaders ? `\n------ ${SECTION_TITLES[i] as string} ------\n\n${t}` : `\n${t}`,
    )
    .join('');
}
