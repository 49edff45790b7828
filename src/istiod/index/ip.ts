/**
 * IP text to the raw bytes the workload and security protos carry (4 bytes
 * for IPv4, 16 for IPv6), without a port. Invalid text yields `undefined`;
 * callers decide whether that drops the object (Istio drops a pod whose
 * podIPs do not parse) or only the value (an ipBlock that does not parse).
 */
import { isIPv4, isIPv6 } from 'node:net';

export function ipToBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return new Uint8Array(text.split('.').map((p) => Number(p)));
  if (isIPv6(text)) return ipv6ToBytes(text);
  return undefined;
}

/** A prefix parsed from "a.b.c.d/n", or a host prefix (/32, /128) from a bare IP. */
export interface ParsedPrefix {
  readonly address: Uint8Array;
  readonly bits: number;
}

export function parsePrefix(text: string): ParsedPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const address = ipToBytes(text);
    return address === undefined ? undefined : { address, bits: address.length * 8 };
  }
  const address = ipToBytes(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > address.length * 8) return undefined;
  return { address, bits };
}

/** Zeroes the host bits of a prefix (10.0.0.5/24 -> 10.0.0.0/24). */
export function maskPrefix(p: ParsedPrefix): ParsedPrefix {
  const out = new Uint8Array(p.address);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, p.bits - i * 8));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return { address: out, bits: p.bits };
}

/** Canonical text of raw IP bytes (dotted quad, or RFC 5952 IPv6). */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Longest run of zero groups (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function ipv6ToBytes(text: string): Uint8Array | undefined {
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        if (!isIPv4(part)) return undefined;
        const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const h = parseGroups(head);
  const t = parseGroups(tail);
  if (h === undefined || t === undefined) return undefined;
  const zeros = dbl >= 0 ? 8 - h.length - t.length : 0;
  const groups = [...h, ...new Array<number>(zeros).fill(0), ...t];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = (g >> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}
