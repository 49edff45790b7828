/**
 * Route filters and header matches the Gateway API's HTTPRoute and GRPCRoute
 * share (apis/v1 httproute_types.go, grpcroute_types.go): header modifiers,
 * request mirrors, extension references, and the CEL rules that tie a
 * filter's `type` to the one sub-object it must carry.
 */
import { field, index, type Issues } from './shape.js';
import {
  HEADER_NAME_RULE,
  checkBackendObjectRef,
  checkLocalObjectRef,
  checkMaxItems,
  checkText,
  requireText,
  type BackendObjectRef,
  type LocalObjectRef,
} from './gateway-api-refs.js';

/** HTTPHeaderMatch / GRPCHeaderMatch / HTTPQueryParamMatch. */
export interface NameValueMatch {
  readonly type?: string;
  readonly name?: string;
  readonly value?: string;
}

/**
 * Header (or query parameter) matches: at most 16, name and value required,
 * value 1..`maxValue` characters, names unique (case-insensitive for
 * headers, as the CRD's list-map key and the spec's "first one wins" rule).
 */
export function checkNameValueMatches(
  issues: Issues,
  path: string,
  matches: readonly NameValueMatch[] | undefined,
  opts: { readonly maxValue: number; readonly caseInsensitive: boolean },
): void {
  if (matches === undefined) return;
  checkMaxItems(issues, path, matches, 16, 'matches');
  const seen = new Set<string>();
  matches.forEach((m, i) => {
    const p = index(path, i);
    if (requireText(issues, field(p, 'name'), m.name, 'name')) checkText(issues, field(p, 'name'), m.name, HEADER_NAME_RULE);
    if (requireText(issues, field(p, 'value'), m.value, 'value'))
      checkText(issues, field(p, 'value'), m.value, { what: 'value', min: 1, max: opts.maxValue });
    if (m.name === undefined) return;
    const k = opts.caseInsensitive ? m.name.toLowerCase() : m.name;
    if (seen.has(k)) issues.add(field(p, 'name'), `duplicate match on ${JSON.stringify(m.name)}`);
    seen.add(k);
  });
}

interface HttpHeader {
  readonly name?: string;
  readonly value?: string;
}

export interface HeaderFilter {
  readonly set?: readonly HttpHeader[];
  readonly add?: readonly HttpHeader[];
  readonly remove?: readonly string[];
}

/** HTTPHeaderFilter: set/add/remove, at most 16 each, header names unique within each list. */
function checkHeaderFilter(issues: Issues, path: string, f: HeaderFilter): void {
  for (const op of ['set', 'add'] as const) {
    const list = f[op];
    const lp = field(path, op);
    checkMaxItems(issues, lp, list, 16, 'headers');
    const seen = new Set<string>();
    list?.forEach((h, i) => {
      const p = index(lp, i);
      if (requireText(issues, field(p, 'name'), h.name, 'name')) checkText(issues, field(p, 'name'), h.name, HEADER_NAME_RULE);
      if (requireText(issues, field(p, 'value'), h.value, 'value'))
        checkText(issues, field(p, 'value'), h.value, { what: 'value', min: 1, max: 4096 });
      if (h.name === undefined) return;
      const k = h.name.toLowerCase();
      if (seen.has(k)) issues.add(field(p, 'name'), `header ${JSON.stringify(h.name)} appears twice in ${op}`);
      seen.add(k);
    });
  }
  checkMaxItems(issues, field(path, 'remove'), f.remove, 16, 'headers');
  const removed = new Set<string>();
  f.remove?.forEach((n, i) => {
    const p = index(field(path, 'remove'), i);
    checkText(issues, p, n, HEADER_NAME_RULE);
    if (removed.has(n.toLowerCase())) issues.add(p, `header ${JSON.stringify(n)} appears twice in remove`);
    removed.add(n.toLowerCase());
  });
}

export interface MirrorFilter {
  readonly backendRef?: BackendObjectRef;
  readonly percent?: number;
  readonly fraction?: { readonly numerator?: number; readonly denominator?: number };
}

/** HTTPRequestMirrorFilter: a backendRef, and percent or fraction (not both, numerator <= denominator). */
function checkMirrorFilter(issues: Issues, path: string, f: MirrorFilter): void {
  if (f.backendRef === undefined) issues.add(field(path, 'backendRef'), 'backendRef is required');
  else checkBackendObjectRef(issues, field(path, 'backendRef'), f.backendRef);
  if (f.percent !== undefined && f.fraction !== undefined)
    issues.add(field(path, 'fraction'), 'only one of percent or fraction may be specified');
  if (f.fraction !== undefined) {
    const fp = field(path, 'fraction');
    if (f.fraction.numerator === undefined) issues.add(field(fp, 'numerator'), 'numerator is required');
    else if (f.fraction.numerator > (f.fraction.denominator ?? 100))
      issues.add(field(fp, 'numerator'), 'numerator must be less than or equal to denominator');
  }
}

/** The sub-object fields of a filter, by filter type, that this module checks. */
export interface CommonFilter {
  readonly type?: string;
  readonly requestHeaderModifier?: HeaderFilter;
  readonly responseHeaderModifier?: HeaderFilter;
  readonly requestMirror?: MirrorFilter;
  readonly extensionRef?: LocalObjectRef;
}

/** Filter type -> the field holding its configuration. */
export type FilterFields = Readonly<Record<string, string>>;

/**
 * The CEL rules every filter type has: `filter.<x> must be specified for
 * <Type> filter.type` and `filter.<x> must be nil if the filter.type is not
 * <Type>`; then the checks of the common sub-objects.
 */
export function checkFilterShape(
  issues: Issues,
  path: string,
  f: CommonFilter & Readonly<Record<string, unknown>>,
  fields: FilterFields,
): void {
  const type = f.type;
  if (type === undefined) {
    issues.add(field(path, 'type'), 'type is required');
    return;
  }
  for (const [t, name] of Object.entries(fields)) {
    const present = f[name] !== undefined;
    if (t === type && !present) issues.add(field(path, name), `${name} must be specified for a ${t} filter`);
    if (t !== type && present) issues.add(field(path, name), `${name} must not be set on a ${type} filter`);
  }
  if (type === 'RequestHeaderModifier' && f.requestHeaderModifier !== undefined)
    checkHeaderFilter(issues, field(path, 'requestHeaderModifier'), f.requestHeaderModifier);
  if (type === 'ResponseHeaderModifier' && f.responseHeaderModifier !== undefined)
    checkHeaderFilter(issues, field(path, 'responseHeaderModifier'), f.responseHeaderModifier);
  if (type === 'RequestMirror' && f.requestMirror !== undefined)
    checkMirrorFilter(issues, field(path, 'requestMirror'), f.requestMirror);
  if (type === 'ExtensionRef' && f.extensionRef !== undefined)
    checkLocalObjectRef(issues, field(path, 'extensionRef'), f.extensionRef);
}

/**
 * The CEL rules on a filters list: at most 16, and the modifier, redirect
 * and rewrite filters at most once each (mirrors may repeat).
 */
export function checkFilterList(
  issues: Issues,
  path: string,
  filters: readonly CommonFilter[] | undefined,
  unique: readonly string[],
): void {
  if (filters === undefined) return;
  checkMaxItems(issues, path, filters, 16, 'filters');
  const seen = new Set<string>();
  filters.forEach((f, i) => {
    if (f.type === undefined || !unique.includes(f.type)) return;
    if (seen.has(f.type)) issues.add(field(index(path, i), 'type'), `${f.type} filter cannot be repeated`);
    seen.add(f.type);
  });
}
