/**
 * A minimal DER writer for the X.509 and PKCS#10 structures the CA builds.
 * Values are assembled as Buffers so that already-encoded parts (a CSR's
 * SubjectPublicKeyInfo, the issuer's Name) are embedded byte for byte.
 * Reading uses node-forge's ASN.1 parser (see csr.ts, x509-read.ts).
 */
import forge from 'node-forge';

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_IA5_STRING = 0x16;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-byte tag (all tags used here fit in one byte). */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export function sequence(...parts: readonly Buffer[]): Buffer {
  return tlv(TAG_SEQUENCE, Buffer.concat(parts));
}

export function set(...parts: readonly Buffer[]): Buffer {
  return tlv(TAG_SET, Buffer.concat(parts));
}

const oidCache = new Map<string, Buffer>();

export function oid(dotted: string): Buffer {
  let encoded = oidCache.get(dotted);
  if (encoded === undefined) {
    encoded = tlv(TAG_OID, Buffer.from(forge.asn1.oidToDer(dotted).getBytes(), 'binary'));
    oidCache.set(dotted, encoded);
  }
  return encoded;
}

/** An INTEGER from unsigned big-endian magnitude bytes (a leading zero is added when needed). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body.length === 0) body = Buffer.from([0]);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(TAG_INTEGER, body);
}

export function smallInteger(value: number): Buffer {
  return unsignedInteger(Buffer.from([value & 0xff]));
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG_BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export const NULL = Buffer.from([TAG_NULL, 0x00]);

export function octetString(content: Buffer): Buffer {
  return tlv(TAG_OCTET_STRING, content);
}

/** A BIT STRING of whole bytes (signatures, keys). */
export function bitString(content: Buffer): Buffer {
  return tlv(TAG_BIT_STRING, Buffer.concat([Buffer.from([0]), content]));
}

/**
 * A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit of the
 * first byte, and DER drops trailing zero bits (X.690 11.2.2).
 */
export function namedBits(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  const unused = 7 - (highest & 7);
  return tlv(TAG_BIT_STRING, Buffer.concat([Buffer.from([unused]), bytes]));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    'Z';
  if (year >= 1950 && year < 2050) {
    return tlv(TAG_UTC_TIME, Buffer.from(pad(year % 100, 2) + rest, 'ascii'));
  }
  return tlv(TAG_GENERALIZED_TIME, Buffer.from(pad(year, 4) + rest, 'ascii'));
}

/** [n] EXPLICIT: a constructed context-specific wrapper. */
export function explicit(n: number, inner: Buffer): Buffer {
  return tlv(0xa0 | n, inner);
}

/** [n] IMPLICIT primitive: context-specific tag over raw content bytes. */
export function implicitPrimitive(n: number, content: Buffer): Buffer {
  return tlv(0x80 | n, content);
}

/** PEM armour with 64-column base64 lines, ending with a newline. */
export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Where one TLV sits in a buffer: its tag, and the offsets of its content and its end. */
export interface TlvPosition {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/**
 * Reads the header of the DER TLV at `offset` (single-byte tags, definite
 * lengths), so that signed parts can be sliced out byte for byte.
 */
export function tlvAt(buf: Buffer, offset: number): TlvPosition {
  const tag = buf[offset];
  let lengthByte = buf[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error(`DER truncated at offset ${offset}`);
  let contentStart = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error(`unsupported DER length form at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = buf[contentStart + i];
      if (lengthByte === undefined) throw new Error(`DER truncated at offset ${offset}`);
      length = length * 256 + lengthByte;
    }
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > buf.length)
    throw new Error(`DER value at offset ${offset} runs past the end (${end} > ${buf.length})`);
  return { tag, start: offset, contentStart, end };
}
