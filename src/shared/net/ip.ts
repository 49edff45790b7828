/**
 * IP addresses as the raw bytes the protos carry (4 bytes for IPv4, 16 for
 * IPv6), parsed from and formatted to their canonical text once for every
 * role. Text is validated by Node's own parser (`net.isIP`), so what a
 * socket reports and what we accept are the same language.
 */
import { isIP } from 'node:net';

/** 4 bytes for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/** Whether `bytes` has the length of an IPv4 or IPv6 address. */
export function isIpBytes(bytes: Uint8Array): boolean {
  return bytes.length === 4 || bytes.length === 16;
}

function ipv4Bytes(text: string, out: Uint8Array, at: number): void {
  text.split('.').forEach((part, i) => (out[at + i] = Number(part)));
}

function ipv6Bytes(text: string): IpBytes {
  const out = new Uint8Array(16);
  let s = text;
  // An embedded IPv4 tail ("::ffff:1.2.3.4") fills the last four bytes.
  let groupsEnd = 8;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    ipv4Bytes(s.slice(lastColon + 1), out, 12);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
    groupsEnd = 6;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = s.indexOf('::');
  const left = parse(gap < 0 ? s : s.slice(0, gap));
  const right = gap < 0 ? [] : parse(s.slice(gap + 2));
  const groups = [...left, ...new Array<number>(groupsEnd - left.length - right.length).fill(0), ...right];
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/**
 * The bytes of an IP literal exactly as written (`::ffff:1.2.3.4` stays 16
 * bytes), or undefined when it is not one. A zone (`fe80::1%eth0`) is
 * dropped: it does not take part in matching or keys.
 */
export function parseIpExact(text: string): IpBytes | undefined {
  const zone = text.indexOf('%');
  const addr = zone >= 0 && isIP(text) === 6 ? text.slice(0, zone) : text;
  switch (isIP(addr)) {
    case 4: {
      const out = new Uint8Array(4);
      ipv4Bytes(addr, out, 0);
      return out;
    }
    case 6:
      return ipv6Bytes(addr);
    default:
      return undefined;
  }
}

/** `::ffff:a.b.c.d` (an IPv4-mapped IPv6 address) as the 4-byte IPv4 address; anything else unchanged. */
export function unmapIpv4(bytes: IpBytes): IpBytes {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  return bytes.slice(12);
}

/**
 * The bytes of an IP literal, or undefined when it is not one. An
 * IPv4-mapped IPv6 address (what a dual-stack socket reports for an IPv4
 * peer) becomes the IPv4 address, as ztunnel canonicalizes peer addresses
 * before matching and lookups.
 */
export function parseIp(text: string): IpBytes | undefined {
  const bytes = parseIpExact(text);
  return bytes === undefined ? undefined : unmapIpv4(bytes);
}

/**
 * Canonical text of IP bytes: dotted quad, or RFC 5952 IPv6 (lower-case
 * hex, leading zeros dropped, the longest run of two or more zero groups,
 * the first of equals, as `::`). Never throws: bytes of another length
 * print as `<n bytes>`, so a bad value shows in a dump instead of failing it.
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return `<${bytes.length} bytes>`;
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

/** The canonical text of an IP literal (IPv4-mapped as IPv4), or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  const bytes = parseIp(text);
  return bytes === undefined ? undefined : formatIp(bytes);
}
