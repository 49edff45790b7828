/**
 * The node agent's `/config_dump`, decoded once into what the tables need.
 * Both ztunnel's shape and ambit's agent are accepted: sections may be lists
 * or maps keyed by anything (istioctl accepts both), absent sections are
 * empty, and connections come from the agent's `connections` list or from
 * ztunnel's `workloadState[uid].connections`. Each entry keeps its raw JSON
 * for `-o json|yaml`.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { formatTargetAddress, type TargetAddress } from './address.js';
import { TargetError } from './errors.js';
import { fetchJson } from './http-get.js';

export const CONFIG_DUMP_PATH = '/config_dump';

/** Where a workload's or service's waypoint is: an address "<network>/<ip>" or a service hostname. */
export type WaypointRef =
  | { readonly kind: 'address'; readonly address: string }
  | { readonly kind: 'hostname'; readonly namespace: string; readonly hostname: string };

export interface DumpWorkload {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly workloadIps: readonly string[];
  readonly hostname: string;
  readonly protocol: string;
  readonly status: string;
  readonly waypoint?: WaypointRef;
  readonly raw: unknown;
}

export interface DumpService {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  /** "<network>/<ip>", as served. */
  readonly vips: readonly string[];
  readonly waypoint?: WaypointRef;
  /** One entry per endpoint: the workload UID it points to. */
  readonly endpointWorkloadUids: readonly string[];
  readonly raw: unknown;
}

export interface DumpPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: string;
  readonly scope: string;
  readonly raw: unknown;
}

export interface DumpCert {
  /** Decimal, as ztunnel serves it; empty when the dump gave a PEM (see serialHex). */
  readonly serialNumber: string;
  /** Hex, read from the certificate itself when the dump lists PEM text. */
  readonly serialHex?: string;
  /** RFC 3339, or empty. */
  readonly validFrom: string;
  readonly expirationTime: string;
}

export interface DumpCertificate {
  readonly identity: string;
  readonly state: string;
  readonly certChain: readonly DumpCert[];
  readonly rootCerts: readonly DumpCert[];
  readonly raw: unknown;
}

export type Direction = 'inbound' | 'outbound';

/**
 * One proxied connection. Inbound: `local` is where the connection was
 * delivered (ztunnel's actualDst), `remote` the client (src), `target` what
 * the client asked for (originalDst). Outbound: `local` is the app's socket
 * (src), `remote` where the agent connected (actualDst), `target` the app's
 * original destination (originalDst).
 */
export interface DumpConnection {
  readonly workloadName: string;
  readonly workloadNamespace: string;
  readonly direction: Direction;
  readonly local: string;
  readonly remote: string;
  readonly target: string;
  readonly protocol: string;
}

/** A connection (agent form, with its direction) or a workload's state with its connections (ztunnel form). */
export interface RawConnectionEntry {
  readonly namespace: string;
  readonly direction?: Direction;
  readonly raw: unknown;
}

export interface ConfigDump {
  readonly workloads: readonly DumpWorkload[];
  readonly services: readonly DumpService[];
  readonly policies: readonly DumpPolicy[];
  readonly certificates: readonly DumpCertificate[];
  readonly connections: readonly DumpConnection[];
  /** The raw entries connections were read from, for `-o json|yaml`. */
  readonly rawConnections: readonly RawConnectionEntry[];
  /** The whole document as served. */
  readonly raw: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : '';
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A section as a list: lists as they are, maps by value (istioctl accepts both), absent as empty. */
function entries(where: string, name: string, v: unknown): Record<string, unknown>[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : undefined;
  if (list === undefined)
    throw new TargetError('TARGET_BAD_RESPONSE', `${where}: ${name} is neither a list nor a map`);
  return list.filter(isRecord);
}

function waypointRef(v: unknown): WaypointRef | undefined {
  if (!isRecord(v)) return undefined;
  const d = v.destination;
  if (typeof d === 'string') return { kind: 'address', address: d };
  if (isRecord(d)) return { kind: 'hostname', namespace: str(d.namespace), hostname: str(d.hostname) };
  return undefined;
}

/** RFC 3339 at second precision, as ztunnel prints certificate times. */
function rfc3339(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A certificate given as PEM text (ambit's agent lists its chain that way): read what the table shows from it. */
function pemCert(pem: string): DumpCert {
  try {
    const x = new X509Certificate(pem);
    return {
      serialNumber: '',
      serialHex: x.serialNumber,
      validFrom: rfc3339(x.validFrom),
      expirationTime: rfc3339(x.validTo),
    };
  } catch {
    // Not a certificate: the row says NA rather than failing the whole table.
    return { serialNumber: '', validFrom: '', expirationTime: '' };
  }
}

/** A PEM bundle may hold several certificates. */
function pemCerts(text: string): DumpCert[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  return blocks === null ? [pemCert(text)] : blocks.map(pemCert);
}

function certs(v: unknown): DumpCert[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((c: unknown): DumpCert[] => {
    if (typeof c === 'string') return pemCerts(c);
    const r = isRecord(c) ? c : {};
    return [
      {
        serialNumber: str(r.serialNumber),
        validFrom: str(r.validFrom),
        expirationTime: str(r.expirationTime),
      },
    ];
  });
}

/** "<namespace>/<name>" (the agent's form) to its parts; anything else is a name without namespace. */
function splitWorkload(text: string): { name: string; namespace: string } {
  const slash = text.indexOf('/');
  return slash < 0
    ? { name: text, namespace: '' }
    : { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}

function decodeConnections(
  where: string,
  doc: Record<string, unknown>,
): Pick<ConfigDump, 'connections' | 'rawConnections'> {
  const connections: DumpConnection[] = [];
  const rawConnections: RawConnectionEntry[] = [];
  if (doc.connections !== undefined && doc.connections !== null) {
    for (const c of entries(where, 'connections', doc.connections)) {
      const w = splitWorkload(str(c.workload));
      const direction: Direction = str(c.direction).toLowerCase() === 'inbound' ? 'inbound' : 'outbound';
      connections.push({
        workloadName: w.name,
        workloadNamespace: w.namespace,
        direction,
        local: str(c.local),
        remote: str(c.remote),
        target: str(c.remoteTarget),
        protocol: str(c.protocol),
      });
      rawConnections.push({ namespace: w.namespace, direction, raw: c });
    }
    return { connections, rawConnections };
  }
  const state = doc.workloadState;
  if (state === undefined || state === null) return { connections, rawConnections };
  if (!isRecord(state)) throw new TargetError('TARGET_BAD_RESPONSE', `${where}: workloadState is not a map`);
  for (const entry of Object.values(state)) {
    if (!isRecord(entry)) continue;
    const info = isRecord(entry.info) ? entry.info : {};
    const name = str(info.name);
    const namespace = str(info.namespace);
    rawConnections.push({ namespace, raw: entry });
    const conns = isRecord(entry.connections) ? entry.connections : {};
    for (const direction of ['inbound', 'outbound'] as const) {
      const list = Array.isArray(conns[direction]) ? (conns[direction] as unknown[]) : [];
      for (const c of list.filter(isRecord)) {
        const src = str(c.src);
        const actualDst = str(c.actualDst);
        connections.push({
          workloadName: name,
          workloadNamespace: namespace,
          direction,
          local: direction === 'inbound' ? actualDst : src,
          remote: direction === 'inbound' ? src : actualDst,
          target: str(c.originalDst),
          protocol: str(c.protocol),
        });
      }
    }
  }
  return { connections, rawConnections };
}

/** Decodes a parsed `/config_dump`; `where` names its source in messages. */
export function decodeConfigDump(where: string, doc: unknown): ConfigDump {
  if (!isRecord(doc))
    throw new TargetError('TARGET_BAD_RESPONSE', `${where}: the config dump is not a JSON object`);
  const workloads = entries(where, 'workloads', doc.workloads).map((w): DumpWorkload => ({
    uid: str(w.uid),
    name: str(w.name),
    namespace: str(w.namespace),
    node: str(w.node),
    workloadIps: strings(w.workloadIps),
    hostname: str(w.hostname),
    protocol: str(w.protocol),
    status: str(w.status),
    waypoint: waypointRef(w.waypoint),
    raw: w,
  }));
  const services = entries(where, 'services', doc.services).map((s): DumpService => {
    const eps = s.endpoints;
    const epList: unknown[] = Array.isArray(eps) ? eps : isRecord(eps) ? Object.values(eps) : [];
    return {
      name: str(s.name),
      namespace: str(s.namespace),
      hostname: str(s.hostname),
      vips: strings(s.vips),
      waypoint: waypointRef(s.waypoint),
      endpointWorkloadUids: epList.map((e) => (isRecord(e) ? str(e.workloadUid) : '')),
      raw: s,
    };
  });
  const policies = entries(where, 'policies', doc.policies).map((p): DumpPolicy => ({
    name: str(p.name),
    namespace: str(p.namespace),
    action: str(p.action),
    scope: str(p.scope),
    raw: p,
  }));
  const certificates = entries(where, 'certificates', doc.certificates).map((c): DumpCertificate => ({
    identity: str(c.identity),
    state: str(c.state),
    certChain: certs(c.certChain),
    rootCerts: certs(c.rootCerts),
    raw: c,
  }));
  return { workloads, services, policies, certificates, ...decodeConnections(where, doc), raw: doc };
}

/** Fetches and decodes the agent's dump. */
export async function fetchConfigDump(
  address: TargetAddress,
  options: { hint: string; timeoutMs?: number },
): Promise<ConfigDump> {
  const doc = await fetchJson(address, CONFIG_DUMP_PATH, {
    peer: 'agent',
    hint: options.hint,
    timeoutMs: options.timeoutMs,
  });
  return decodeConfigDump(`agent on ${formatTargetAddress(address)}: ${CONFIG_DUMP_PATH}`, doc);
}

/** Reads and decodes a dump saved to a file (`-f`). */
export async function readConfigDumpFile(file: string): Promise<ConfigDump> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TargetError(
      'TARGET_UNREACHABLE',
      `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TargetError(
      'TARGET_BAD_RESPONSE',
      `${file}: not JSON: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return decodeConfigDump(file, doc);
}
