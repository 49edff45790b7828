/**
 * CIDR prefixes over IP bytes: parsing `a.b.c.d/n` and `x::/n`, the wire
 * form (`istio.security.Address{address, length}`), containment and
 * overlap. An IPv4 prefix never contains an IPv6 address and the reverse;
 * host bits are kept as written and ignored when comparing (10.0.0.5/24
 * contains 10.0.0.9).
 */
import { formatIp, parseIp, type IpBytes } from './ip.js';

export interface Cidr {
  /** The address as written: host bits may be set (see {@link maskCidr}). */
  readonly address: IpBytes;
  /** Prefix length in bits: 0..32 for IPv4, 0..128 for IPv6. */
  readonly bits: number;
}

function fromParts(address: IpBytes | undefined, bitsText: string): Cidr | undefined {
  if (address === undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  return bits > address.length * 8 ? undefined : { address, bits };
}

/** `a.b.c.d/n` or `x::/n` (IPv4-mapped addresses as IPv4); undefined for anything else, a bare IP included. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  return slash < 0 ? undefined : fromParts(parseIp(text.slice(0, slash)), text.slice(slash + 1));
}

/** Like {@link parseCidr}, but a bare IP is its host prefix (/32 or /128), as Istio's ipBlocks and addresses allow. */
export function parsePrefix(text: string, parse: (ip: string) => IpBytes | undefined = parseIp): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash >= 0) return fromParts(parse(text.slice(0, slash)), text.slice(slash + 1));
  const address = parse(text);
  return address === undefined ? undefined : { address, bits: address.length * 8 };
}

/**
 * A prefix from the wire; undefined when the address is not 4 or 16 bytes
 * or the length exceeds it (ztunnel drops such entries rather than
 * rejecting the policy).
 */
export function cidrFromWire(address: Uint8Array, length: number): Cidr | undefined {
  if (address.length !== 4 && address.length !== 16) return undefined;
  if (!Number.isInteger(length) || length < 0 || length > address.length * 8) return undefined;
  return maskCidr({ address: new Uint8Array(address), bits: length });
}

/** The prefix with its host bits cleared (10.0.0.5/24 -> 10.0.0.0/24). */
export function maskCidr(c: Cidr): Cidr {
  const address = new Uint8Array(c.address);
  for (let i = 0; i < address.length; i++) {
    const keep = Math.max(0, Math.min(8, c.bits - i * 8));
    address[i] = (address[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return { address, bits: c.bits };
}

function prefixEqual(a: IpBytes, b: IpBytes, bits: number): boolean {
  const full = bits >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[full] ?? 0) & mask) === ((b[full] ?? 0) & mask);
}

/** Whether `ip` lies in `cidr` (same family only). */
export function cidrContains(cidr: Cidr, ip: IpBytes): boolean {
  return cidr.address.length === ip.length && prefixEqual(cidr.address, ip, cidr.bits);
}

/** Whether two prefixes share an address (same family only). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.address.length === b.address.length && prefixEqual(a.address, b.address, Math.min(a.bits, b.bits));
}

/** `address/bits`, the address in canonical text. */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.address)}/${c.bits}`;
}
