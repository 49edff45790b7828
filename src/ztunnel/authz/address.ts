/**
 * IP addresses as raw bytes and CIDR containment over them, the way the
 * node agent compares a connection's addresses with `istio.security.Address`
 * prefixes: an IPv4 prefix never contains an IPv6 address and the reverse,
 * and host bits of a prefix are ignored (10.0.0.5/24 contains 10.0.0.9).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** 4 bytes for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/** A prefix with its host bits already cleared, so containment is a masked compare. */
export interface Cidr {
  readonly network: IpBytes;
  /** Prefix length in bits: 0..32 for IPv4, 0..128 for IPv6. */
  readonly bits: number;
}

function ipv4Bytes(text: string): IpBytes {
  return new Uint8Array(text.split('.').map(Number));
}

function ipv6Bytes(text: string): IpBytes {
  // A zone ("fe80::1%eth0") does not take part in matching.
  const zone = text.indexOf('%');
  const addr = zone >= 0 ? text.slice(0, zone) : text;
  const out = new Uint8Array(16);
  let groups: number[];
  // An embedded IPv4 tail ("::ffff:1.2.3.4") is two groups.
  const lastColon = addr.lastIndexOf(':');
  const tail = addr.slice(lastColon + 1);
  let head = addr;
  let v4Tail: number[] = [];
  if (tail.includes('.')) {
    const b = ipv4Bytes(tail);
    v4Tail = [((b[0] ?? 0) << 8) | (b[1] ?? 0), ((b[2] ?? 0) << 8) | (b[3] ?? 0)];
    head = addr.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const gap = head.indexOf('::');
  if (gap >= 0) {
    const left = parse(head.slice(0, gap));
    const right = [...parse(head.slice(gap + 2)), ...v4Tail];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = [...parse(head), ...v4Tail];
  }
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/**
 * The bytes of an IP in text form, or undefined when it is not one. An
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket
 * reports for an IPv4 peer) becomes the IPv4 address, as the node agent
 * canonicalizes peer addresses before matching.
 */
export function parseIp(text: string): IpBytes | undefined {
  if (isIPv4(text)) return ipv4Bytes(text);
  if (!isIPv6(text)) return undefined;
  const b = ipv6Bytes(text);
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (b[i] !== 0) mapped = false;
  return mapped ? b.slice(12) : b;
}

/** Text form of IP bytes (for messages and reports); IPv6 compresses its longest run of zero groups. */
export function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/**
 * A prefix from the wire (`Address{address, length}`); undefined when the
 * address is not 4 or 16 bytes or the length exceeds it. The node agent
 * drops such entries from their list rather than rejecting the policy.
 */
export function cidrFromWire(address: Uint8Array, length: number): Cidr | undefined {
  if (address.length !== 4 && address.length !== 16) return undefined;
  if (!Number.isInteger(length) || length < 0 || length > address.length * 8) return undefined;
  const network = new Uint8Array(address);
  for (let i = 0; i < network.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    network[i] = (network[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return { network, bits: length };
}

/** Whether `ip` lies in `cidr` (same family only). */
export function cidrContains(cidr: Cidr, ip: IpBytes): boolean {
  const net = cidr.network;
  if (net.length !== ip.length) return false;
  const full = cidr.bits >> 3;
  for (let i = 0; i < full; i++) if (net[i] !== ip[i]) return false;
  const rest = cidr.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((ip[full] ?? 0) & mask) === net[full];
}
