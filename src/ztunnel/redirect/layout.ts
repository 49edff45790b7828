/**
 * Codecs for the structs in bpf/ambit_shared.h. Offsets and sizes are stated
 * here once; test/unit/ztunnel/redirect/layout.test.ts compares them with the
 * BTF of the compiled objects.
 */
import { formatIp, parseCidr as parseIpCidr, parseIp } from '../../shared/net/index.js';
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
  const ip = parseIp(text);
  return ip === undefined ? undefined : rawAddress(ip);
}

/** IP bytes (4 or 16) in the header's 16-byte form: IPv4 in bytes 0..3, the rest zero. */
function rawAddress(ip: Uint8Array): RawAddress {
  const bytes = Buffer.alloc(16);
  bytes.set(ip);
  return { family: ip.length === 4 ? FAMILY_INET : FAMILY_INET6, bytes };
}

/** Canonical text of an address in the header's 16-byte form. */
export function formatAddress(family: number, bytes: Buffer): string {
  return formatIp(family === FAMILY_INET ? bytes.subarray(0, 4) : bytes.subarray(0, 16));
}

export interface Cidr {
  readonly address: RawAddress;
  readonly prefixLength: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const c = parseIpCidr(text);
  return c === undefined ? undefined : { address: rawAddress(c.address), prefixLength: c.bits };
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
