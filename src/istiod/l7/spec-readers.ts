/**
 * Typed readers over validated L7 specs (plain `unknown` data): each returns
 * undefined or an empty value for a missing or ill-typed field, never throws.
 */
import { parseDurationNs } from '../config/validation/fields.js';

export type Raw = Readonly<Record<string, unknown>>;

export function rec(v: unknown): Raw | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
}
export function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}
export function recs(v: unknown): Raw[] {
  return list(v).map(rec).filter((r): r is Raw => r !== undefined);
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
export function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}
export function strs(v: unknown): string[] {
  return list(v).filter((s): s is string => typeof s === 'string');
}
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v) ?? {})) if (typeof x === 'string') out[k] = x;
  return out;
}
/** A duration string ("7s", "0.5s", "100ms") in ms; undefined when absent or bad. */
export function durationMs(v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const ns = parseDurationNs(s);
  return ns === undefined ? undefined : ns / 1e6;
}
