/**
 * Names as Kubernetes gives them to a Deployment's pods:
 * `<deployment>-<pod-template-hash>-<5 random characters>`. The template
 * hash is FNV-1a (32 bit) over the pod template, its decimal digits encoded
 * in the "safe" alphabet Kubernetes uses (no vowels, no 0/1/3), so the same
 * template always gives the same ReplicaSet name.
 */
import { randomInt } from 'node:crypto';

/** The alphabet of Kubernetes' generated name parts (`rand.SafeEncodeString`). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** Kubernetes' random pod-name suffix length. */
const SUFFIX_LENGTH = 5;
const MAX_GENERATED_BASE = 58;

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Each character mapped into the safe alphabet, as Kubernetes encodes a hash's digits. */
export function safeEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += SAFE_ALPHABET[byte % SAFE_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted, so equal templates hash equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The `pod-template-hash` label of a template (its raw YAML value). */
export function podTemplateHash(template: unknown): string {
  return safeEncode(String(fnv1a32(canonicalJson(template))));
}

/** `length` random characters of the safe alphabet. */
export function randomSuffix(length = SUFFIX_LENGTH, random: (max: number) => number = randomInt): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE_ALPHABET[random(SAFE_ALPHABET.length)];
  return out;
}

/** A new replica pod's name, avoiding names in use. */
export function replicaPodName(
  deployment: string,
  templateHash: string,
  taken: ReadonlySet<string>,
  random: (max: number) => number = randomInt,
): string {
  // Kubernetes cuts a generated name's base to 58 characters; the suffix makes 63.
  const base = `${deployment}-${templateHash}-`.slice(0, MAX_GENERATED_BASE);
  for (;;) {
    const name = `${base}${randomSuffix(SUFFIX_LENGTH, random)}`;
    if (!taken.has(name)) return name;
  }
}
