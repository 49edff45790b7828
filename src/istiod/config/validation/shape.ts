/**
 * Structural decoding of raw YAML/JSON values against a declared shape: the
 * field names and JSON types of the Kubernetes and Istio messages. It rejects
 * unknown fields and wrong types at their full path (as the CRD structural
 * schemas do), and returns a sanitized copy in which every field that is
 * present has the declared type, so the per-kind semantic checks can read it
 * without re-checking types.
 *
 * A field whose value has the wrong type is dropped from the copy (an array
 * element of the wrong type is replaced by an empty value) and its path is
 * marked broken: later semantic errors at or below a broken path are
 * suppressed, so one mistake is reported once.
 */
import type { FieldError } from '../types.js';

export type Shape =
  | { readonly t: 'string' }
  | { readonly t: 'bool' }
  | { readonly t: 'int'; readonly min: number; readonly max: number }
  | { readonly t: 'number' }
  | { readonly t: 'enum'; readonly values: readonly string[] }
  | { readonly t: 'intOrString' }
  | { readonly t: 'object'; readonly fields: Readonly<Record<string, Shape>> }
  | { readonly t: 'array'; readonly of: Shape }
  | { readonly t: 'map'; readonly of: Shape }
  | { readonly t: 'any' };

export const STRING: Shape = { t: 'string' };
export const BOOL: Shape = { t: 'bool' };
export const NUMBER: Shape = { t: 'number' };
export const ANY: Shape = { t: 'any' };
export const INT_OR_STRING: Shape = { t: 'intOrString' };
/** protobuf int32 */
export const INT32: Shape = { t: 'int', min: -2147483648, max: 2147483647 };
/** protobuf uint32 */
export const UINT32: Shape = { t: 'int', min: 0, max: 4294967295 };
/** protobuf int64 / uint64 as the API server accepts them (JSON numbers). */
export const INT64: Shape = { t: 'int', min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
export const STRINGS: Shape = { t: 'array', of: STRING };
export const STRING_MAP: Shape = { t: 'map', of: STRING };

export function obj(fields: Readonly<Record<string, Shape>>): Shape {
  return { t: 'object', fields };
}
export function arr(of: Shape): Shape {
  return { t: 'array', of };
}
export function map(of: Shape): Shape {
  return { t: 'map', of };
}
export function enumOf(...values: string[]): Shape {
  return { t: 'enum', values };
}

// ---------- paths ----------

/** `spec` + `hosts` -> `spec.hosts`. */
export function field(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
/** `spec.hosts` + 1 -> `spec.hosts[1]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}
/** `spec.portLevelMtls` + `80` -> `spec.portLevelMtls["80"]`. */
export function key(path: string, k: string): string {
  return `${path}[${JSON.stringify(k)}]`;
}

// ---------- error collection ----------

/** Collects the field errors of one object, in the order they are found. */
export class Issues {
  private readonly list: FieldError[] = [];
  private readonly broken = new Set<string>();
  private readonly incomplete = new Set<string>();

  /** Records an error unless its path lies under a field already reported as mistyped. */
  add(path: string, message: string): void {
    if (this.isUnderBroken(path)) return;
    this.list.push({ path, message });
  }

  /** Records a type error and suppresses every later error at or below `path`. */
  addBroken(path: string, message: string): void {
    if (this.isUnderBroken(path)) return;
    this.list.push({ path, message });
    this.broken.add(path);
  }

  /** Marks the object at `path` as having had unknown fields dropped. */
  markIncomplete(path: string): void {
    this.incomplete.add(path);
  }

  /**
   * Whether fields were dropped from the object at `path`: "must not
   * be empty" checks skip such objects, whose real problem is already reported.
   */
  isIncomplete(path: string): boolean {
    return this.incomplete.has(path);
  }

  get errors(): readonly FieldError[] {
    return this.list;
  }

  get count(): number {
    return this.list.length;
  }

  private isUnderBroken(path: string): boolean {
    for (const b of this.broken) {
      if (path === b || path.startsWith(`${b}.`) || path.startsWith(`${b}[`)) return true;
    }
    return false;
  }
}

// ---------- decoding ----------

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function emptyOf(shape: Shape): unknown {
  switch (shape.t) {
    case 'object':
    case 'map':
      return {};
    case 'array':
      return [];
    case 'string':
    case 'enum':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

const MISSING = Symbol('missing');

/**
 * Checks `value` against `shape`, reporting problems under `path`, and returns
 * the sanitized copy (or MISSING when the value itself is unusable).
 */
function decodeValue(value: unknown, shape: Shape, path: string, issues: Issues): unknown {
  switch (shape.t) {
    case 'any':
      return value;
    case 'string':
      if (typeof value === 'string') return value;
      issues.addBroken(path, `expected a string, got ${describe(value)}`);
      return MISSING;
    case 'bool':
      if (typeof value === 'boolean') return value;
      issues.addBroken(path, `expected a boolean, got ${describe(value)}`);
      return MISSING;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      issues.addBroken(path, `expected a number, got ${describe(value)}`);
      return MISSING;
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) {
        if (value < shape.min || value > shape.max) {
          issues.addBroken(path, `${value} is out of range ${shape.min}..${shape.max}`);
          return MISSING;
        }
        return value;
      }
      issues.addBroken(path, `expected an integer, got ${describe(value)}`);
      return MISSING;
    case 'intOrString':
      if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
      issues.addBroken(path, `expected an integer or a string, got ${describe(value)}`);
      return MISSING;
    case 'enum':
      if (typeof value === 'string' && shape.values.includes(value)) return value;
      issues.addBroken(
        path,
        typeof value === 'string'
          ? `unsupported value ${JSON.stringify(value)}; expected one of ${shape.values.join(', ')}`
          : `expected one of ${shape.values.join(', ')}, got ${describe(value)}`,
      );
      return MISSING;
    case 'array': {
      if (!Array.isArray(value)) {
        issues.addBroken(path, `expected a list, got ${describe(value)}`);
        return MISSING;
      }
      return value.map((item, i) => {
        const p = index(path, i);
        if (item === null || item === undefined) {
          issues.addBroken(p, 'must not be null');
          return emptyOf(shape.of);
        }
        const out = decodeValue(item, shape.of, p, issues);
        return out === MISSING ? emptyOf(shape.of) : out;
      });
    }
    case 'map': {
      if (!isRecord(value)) {
        issues.addBroken(path, `expected an object, got ${describe(value)}`);
        return MISSING;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const p = key(path, k);
        if (v === null || v === undefined) {
          // A map entry with no value: the API server would store the zero value.
          issues.addBroken(p, 'must not be null');
          continue;
        }
        const d = decodeValue(v, shape.of, p, issues);
        // defineProperty: a "__proto__" key must stay data, not replace the prototype.
        if (d !== MISSING)
          Object.defineProperty(out, k, { value: d, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'object':
      return decodeObject(value, shape.fields, path, issues);
  }
}

function decodeObject(
  value: unknown,
  fields: Readonly<Record<string, Shape>>,
  path: string,
  issues: Issues,
): unknown {
  if (!isRecord(value)) {
    issues.addBroken(path, `expected an object, got ${describe(value)}`);
    return MISSING;
  }
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    const p = field(path, name);
    const fieldShape = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (fieldShape === undefined) {
      issues.addBroken(p, `unknown field ${JSON.stringify(name)}`);
      issues.markIncomplete(path);
      continue;
    }
    // YAML `key:` and `key: null` mean "not set", as for the API server.
    if (v === null || v === undefined) continue;
    const d = decodeValue(v, fieldShape, p, issues);
    if (d !== MISSING) out[name] = d;
    else issues.markIncomplete(path);
  }
  return out;
}

/**
 * Decodes an object against its field shapes. Returns the sanitized object,
 * or `undefined` when `value` is not an object at all (reported at `path`).
 */
export function decodeFields<T>(
  value: unknown,
  fields: Readonly<Record<string, Shape>>,
  path: string,
  issues: Issues,
): T | undefined {
  const out = decodeObject(value, fields, path, issues);
  return out === MISSING ? undefined : (out as T);
}
