/**
 * Response encoding. A resource's wire form depends only on the resource,
 * so it is encoded once per version (cached by object identity: sources hand
 * out a new object when a resource changes) and spliced into every
 * connection's response as bytes. With 100 clients this encodes each
 * workload once instead of 100 times. The layouts are Envoy's:
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

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
  readonly removed: readonly string[];
}

/** Encodes a DeltaDiscoveryResponse from cached resource bytes. */
export function encodeDeltaResponse(parts: DeltaResponseParts): Uint8Array {
  const w = new BinaryWriter();
  if (parts.systemVersionInfo !== '') w.tag(1, WireType.LengthDelimited).string(parts.systemVersionInfo);
  for (const r of parts.resources)
    w.tag(2, WireType.LengthDelimited).bytes(encodeDeltaResource(parts.typeUrl, r));
  w.tag(4, WireType.LengthDelimited).string(parts.typeUrl);
  w.tag(5, WireType.LengthDelimited).string(parts.nonce);
  for (const name of parts.removed) w.tag(6, WireType.LengthDelimited).string(name);
  return w.finish();
}

export interface SotwResponseParts {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
}

/** Encodes a DiscoveryResponse (state of the world) from cached Any bytes. */
export function encodeSotwResponse(parts: SotwResponseParts): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(parts.versionInfo);
  for (const r of parts.resources) w.tag(2, WireType.LengthDelimited).bytes(encodeAny(parts.typeUrl, r));
  w.tag(4, WireType.LengthDelimited).string(parts.typeUrl);
  w.tag(5, WireType.LengthDelimited).string(parts.nonce);
  return w.finish();
}
