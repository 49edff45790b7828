/**
 * Response encoding. A resource's wire form depends only on the resource,
 * so it is encoded once per version (cached by object identity: sources hand
 * out a new object when a resource changes) and spliced into every
 * connection's response as bytes. With 100 clients this encodes each
 * workload once instead of 100 times. A long run of resources (a full sync)
 * is also kept as one block: the next connection asking for the same list
 * reuses it, since protobuf fields may come in any order and only the
 * nonce and version differ between connections. The layouts are Envoy's:
 * DeltaDiscoveryResponse{system_version_info=1, resources=2, type_url=4,
 * nonce=5, removed_resources=6}, Resource{version=1, resource=2 (Any), name=3,
 * aliases=4}, DiscoveryResponse{version_info=1, resources=2 (Any),
 * type_url=4, nonce=5}, Any{type_url=1, value=2}.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { XdsResource } from './resource-source.js';

const deltaResourceCache = new WeakMap<XdsResource, { typeUrl: string; bytes: Uint8Array }>();
const anyCache = new WeakMap<XdsResource, { typeUrl: string; bytes: Uint8Array }>();

/** The encoded envoy.service.discovery.v3.Resource for a resource (cached). */
export function encodeDeltaResource(typeUrl: string, resource: XdsResource): Uint8Array {
  const cached = deltaResourceCache.get(resource);
  if (cached !== undefined && cached.typeUrl === typeUrl) return cached.bytes;
  const w = new BinaryWriter();
  if (resource.version !== '') w.tag(1, WireType.LengthDelimited).string(resource.version);
  w.tag(2, WireType.LengthDelimited).bytes(encodeAnyBody(typeUrl, resource.value));
  w.tag(3, WireType.LengthDelimited).string(resource.name);
  for (const alias of resource.aliases ?? []) w.tag(4, WireType.LengthDelimited).string(alias);
  const bytes = w.finish();
  deltaResourceCache.set(resource, { typeUrl, bytes });
  return bytes;
}

/** The encoded google.protobuf.Any wrapping a resource (cached). */
export function encodeAny(typeUrl: string, resource: XdsResource): Uint8Array {
  const cached = anyCache.get(resource);
  if (cached !== undefined && cached.typeUrl === typeUrl) return cached.bytes;
  const bytes = encodeAnyBody(typeUrl, resource.value);
  anyCache.set(resource, { typeUrl, bytes });
  return bytes;
}

function encodeAnyBody(typeUrl: string, value: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(typeUrl);
  if (value.length > 0) w.tag(2, WireType.LengthDelimited).bytes(value);
  return w.finish();
}

/** Lists at least this long are kept as a reusable block (one per type URL and kind). */
const BLOCK_CACHE_MIN_RESOURCES = 64;

interface Block {
  readonly typeUrl: string;
  readonly resources: readonly XdsResource[];
  readonly bytes: Uint8Array;
}

const deltaBlocks = new Map<string, Block>();
const sotwBlocks = new Map<string, Block>();

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** Field `fieldNo` (length-delimited) repeated once per item, as one buffer. */
function repeatedField(fieldNo: number, items: readonly Uint8Array[]): Uint8Array {
  const tag = (fieldNo << 3) | WireType.LengthDelimited;
  let total = 0;
  for (const b of items) total += 1 + varintLength(b.length) + b.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const b of items) {
    out[pos++] = tag;
    pos = writeVarint(out, pos, b.length);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

function sameList(a: readonly XdsResource[], b: readonly XdsResource[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function resourcesBlock(
  cache: Map<string, Block>,
  typeUrl: string,
  resources: readonly XdsResource[],
  encodeOne: (typeUrl: string, r: XdsResource) => Uint8Array,
): Uint8Array {
  const cacheable = resources.length >= BLOCK_CACHE_MIN_RESOURCES;
  if (cacheable) {
    const hit = cache.get(typeUrl);
    if (hit !== undefined && sameList(hit.resources, resources)) return hit.bytes;
  }
  const bytes = repeatedField(
    2,
    resources.map((r) => encodeOne(typeUrl, r)),
  );
  if (cacheable) cache.set(typeUrl, { typeUrl, resources: [...resources], bytes });
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
  readonly removed: readonly string[];
}

/** Encodes a DeltaDiscoveryResponse from cached resource bytes. */
export function encodeDeltaResponse(parts: DeltaResponseParts): Uint8Array {
  const head = new BinaryWriter();
  if (parts.systemVersionInfo !== '') head.tag(1, WireType.LengthDelimited).string(parts.systemVersionInfo);
  const block = resourcesBlock(deltaBlocks, parts.typeUrl, parts.resources, encodeDeltaResource);
  const tail = new BinaryWriter();
  tail.tag(4, WireType.LengthDelimited).string(parts.typeUrl);
  tail.tag(5, WireType.LengthDelimited).string(parts.nonce);
  for (const name of parts.removed) tail.tag(6, WireType.LengthDelimited).string(name);
  return concat([head.finish(), block, tail.finish()]);
}

export interface SotwResponseParts {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
}

/** Encodes a DiscoveryResponse (state of the world) from cached Any bytes. */
export function encodeSotwResponse(parts: SotwResponseParts): Uint8Array {
  const head = new BinaryWriter();
  head.tag(1, WireType.LengthDelimited).string(parts.versionInfo);
  const block = resourcesBlock(sotwBlocks, parts.typeUrl, parts.resources, encodeAny);
  const tail = new BinaryWriter();
  tail.tag(4, WireType.LengthDelimited).string(parts.typeUrl);
  tail.tag(5, WireType.LengthDelimited).string(parts.nonce);
  return concat([head.finish(), block, tail.finish()]);
}
