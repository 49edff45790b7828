/**
 * Codecs for the structs in bpf/ambit_shared.h. Offsets and sizes are stated
 * here once; test/unit/ztunnel/redirect/layout.test.ts compares them with the
 * BTF of the compiled objects.
 */
import net from 'node:net';
import { MAX_EXCLUDED_CIDRS, MAX_EXCLUDED_PORTS, UID_LEN } from '../../shared/ports-and-limits.js';
import type { OriginalDestination } from './types.js';

export { MAX_EXCLUDED_CIDRS, MAX_EXCLUDED_PORTS, UID_LEN };

/** Same values as AF_INET / AF_INET6 (AMBIT_FAMILY_* in the header). */
export const FAMILY_INET = 2;
export const FAMILY_INET6 = 10;

export const LISTENER_INBOUND_PLAINTEXT = 0;
export const COUNTER_COUNT = 16;

/** Struct name -> size and member offsets in bytes, as in the C header. */
export const LAYOUT = {
  ambit_cidr: { size: 20, members: { addr: 0, family: 16, prefix_len: 18, _pad: 19 } },
  ambit_orig_dst: { size: 24, members: { addr: 0, port: 16, family: 18, _pad: 20 } },
  pods_key: { size: 8, members: { netns_cookie: 0 } },
  pods_value: {
    size: 272,
    members: {
      cgroup_id: 0,
      flags: 8,
      excluded_port_count: 12,
      excluded_cidr_count: 14,
      excluded_ports: 16,
      excluded_cidrs: 48,
      uid: 208,
    },
  },
  pod_addrs_key: { size: 20, members: { addr: 0, family: 16, _pad: 18 } },
  pod_addrs_value: { size: 8, members: { netns_cookie: 0 } },
  listeners_key: { size: 16, members: { netns_cookie: 0, slot: 8, _pad: 12 } },
  cookie_dst_key: { size: 8, members: { cookie: 0 } },
  tuple_dst_key: {
    size: 48,
    members: { netns_cookie: 0, src_addr: 8, dst_addr: 24, src_port: 40, dst_port: 42, family: 44, _pad: 46 },
  },
} as const;

const L = LAYOUT;

/** A parsed address in the header's 16-byte form. */
export interface RawAddress {
  readonly family: typeof FAMILY_INET | typeof FAMILY_INET6;
  readonly bytes: Buffer;
}

/** Parses an IP literal; IPv4-mapped IPv6 becomes IPv4, as the programs normalise it. */
export function parseAddress(text: string): RawAddress | undefined {
  const kind = net.isIP(text);
  if (kind === 4) return { family: FAMILY_INET, bytes: ipv4Bytes(text) };
  if (kind !== 6) return undefined;
  const bytes = ipv6Bytes(text);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) {
    const v4 = Buffer.alloc(16);
    bytes.copy(v4, 0, 12, 16);
    return { family: FAMILY_INET, bytes: v4 };
  }
  return { family: FAMILY_INET6, bytes };
}

function ipv4Bytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  text.split('.').forEach((part, i) => out.writeUInt8(Number(part), i));
  return out;
}

function ipv6Bytes(text: string): Buffer {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const groups: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Bytes(tail);
    s = `${s.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const headGroups = parse(head);
  const restGroups = rest === undefined ? [] : parse(rest);
  groups.push(...headGroups, ...new Array<number>(8 - headGroups.length - restGroups.length).fill(0), ...restGroups);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function formatAddress(family: number, bytes: Buffer): string {
  if (family === FAMILY_INET) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export interface Cidr {
  readonly address: RawAddress;
  readonly prefixLength: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  const max = address.family === FAMILY_INET ? 32 : 128;
  if (prefixLength > max) return undefined;
  return { address, prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.address.family, c.address.bytes)}/${c.prefixLength}`;
}

export function encodeU64Key(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(value);
  return out;
}

/** struct pods_key: host byte order (little-endian on the machines we build for). */
export const encodePodsKey = encodeU64Key;

export interface PodRecord {
  readonly cgroupId: bigint;
  readonly uid: string;
  readonly excludedPorts: readonly number[];
  readonly excludedCidrs: readonly Cidr[];
}

export function encodePodsValue(p: PodRecord): Buffer {
  const m = L.pods_value.members;
  const out = Buffer.alloc(L.pods_value.size);
  out.writeBigUInt64LE(p.cgroupId, m.cgroup_id);
  out.writeUInt32LE(0, m.flags);
  out.writeUInt16LE(p.excludedPorts.length, m.excluded_port_count);
  out.writeUInt16LE(p.excludedCidrs.length, m.excluded_cidr_count);
  p.excludedPorts.forEach((port, i) => out.writeUInt16LE(port, m.excluded_ports + 2 * i));
  p.excludedCidrs.forEach((c, i) => {
    const base = m.excluded_cidrs + L.ambit_cidr.size * i;
    c.address.bytes.copy(out, base + L.ambit_cidr.members.addr);
    out.writeUInt16LE(c.address.family, base + L.ambit_cidr.members.family);
    out.writeUInt8(c.prefixLength, base + L.ambit_cidr.members.prefix_len);
  });
  out.write(p.uid, m.uid, UID_LEN - 1, 'utf8');
  return out;
}

export function decodePodsValue(b: Buffer): PodRecord {
  const m = L.pods_value.members;
  const portCount = Math.min(b.readUInt16LE(m.excluded_port_count), MAX_EXCLUDED_PORTS);
  const cidrCount = Math.min(b.readUInt16LE(m.excluded_cidr_count), MAX_EXCLUDED_CIDRS);
  const excludedPorts: number[] = [];
  for (let i = 0; i < portCount; i++) excludedPorts.push(b.readUInt16LE(m.excluded_ports + 2 * i));
  const excludedCidrs: Cidr[] = [];
  for (let i = 0; i < cidrCount; i++) {
    const base = m.excluded_cidrs + L.ambit_cidr.size * i;
    const family = b.readUInt16LE(base + L.ambit_cidr.members.family) === FAMILY_INET6 ? FAMILY_INET6 : FAMILY_INET;
    excludedCidrs.push({
      address: { family, bytes: Buffer.from(b.subarray(base, base + 16)) },
      prefixLength: b.readUInt8(base + L.ambit_cidr.members.prefix_len),
    });
  }
  const uidBytes = b.subarray(m.uid, m.uid + UID_LEN);
  const end = uidBytes.indexOf(0);
  return {
    cgroupId: b.readBigUInt64LE(m.cgroup_id),
    uid: uidBytes.subarray(0, end < 0 ? UID_LEN : end).toString('utf8'),
    excludedPorts,
    excludedCidrs,
  };
}

export function encodePodAddrsKey(a: RawAddress): Buffer {
  const out = Buffer.alloc(L.pod_addrs_key.size);
  a.bytes.copy(out, L.pod_addrs_key.members.addr);
  out.writeUInt16LE(a.family, L.pod_addrs_key.members.family);
  return out;
}

export function decodePodAddrsKey(b: Buffer): RawAddress {
  const family = b.readUInt16LE(L.pod_addrs_key.members.family) === FAMILY_INET6 ? FAMILY_INET6 : FAMILY_INET;
  return { family, bytes: Buffer.from(b.subarray(0, 16)) };
}

export const encodePodAddrsValue = encodeU64Key;

export function encodeListenersKey(netnsCookie: bigint, slot: number): Buffer {
  const out = Buffer.alloc(L.listeners_key.size);
  out.writeBigUInt64LE(netnsCookie, L.listeners_key.members.netns_cookie);
  out.writeUInt32LE(slot, L.listeners_key.members.slot);
  return out;
}

/**
 * struct tuple_dst_key for a socket accepted on the outbound listener: the
 * app's socket has our peer as its source and our local address as its
 * destination. IPv4-mapped addresses must already be IPv4 (parseAddress).
 */
export function encodeTupleDstKey(
  netnsCookie: bigint,
  src: RawAddress,
  srcPort: number,
  dst: RawAddress,
  dstPort: number,
): Buffer {
  const m = L.tuple_dst_key.members;
  const out = Buffer.alloc(L.tuple_dst_key.size);
  out.writeBigUInt64LE(netnsCookie, m.netns_cookie);
  src.bytes.copy(out, m.src_addr);
  dst.bytes.copy(out, m.dst_addr);
  out.writeUInt16BE(srcPort, m.src_port);
  out.writeUInt16BE(dstPort, m.dst_port);
  out.writeUInt16LE(src.family, m.family);
  return out;
}

export function decodeOrigDst(b: Buffer): OriginalDestination {
  const m = L.ambit_orig_dst.members;
  const family = b.readUInt16LE(m.family);
  return {
    address: formatAddress(family, b.subarray(m.addr, m.addr + 16)),
    port: b.readUInt16BE(m.port),
    family: family === FAMILY_INET6 ? 6 : 4,
  };
}

/** Sums a per-CPU u64 array value (each CPU's slot is 8 bytes). */
export function sumPerCpu(b: Buffer, cpus: number): number {
  let total = 0n;
  for (let i = 0; i < cpus; i++) total += b.readBigUInt64LE(i * 8);
  return Number(total);
}
