/**
 * Gateway API `HTTPRoute` (gateway.networking.k8s.io v1, v1beta1): parent
 * and backend references, matches, filters, timeouts and retries, checked
 * as the CRD's schema and CEL rules do (apis/v1 httproute_types.go). The
 * spec is stored as validated plain data.
 */
import type { L7Spec } from '../types.js';
import { ANY, BOOL, STRING, STRINGS, arr, enumOf, field, index, obj, type Issues, type Shape } from './shape.js';
import {
  BACKEND_OBJECT_REF_FIELDS,
  COMMON_ROUTE_FIELDS,
  DURATION_RULE,
  HEADER_FILTER,
  HEADER_NAME_RULE,
  LOCAL_OBJECT_REF,
  MIRROR_FILTER,
  PORT_NUMBER,
  PRECISE_HOSTNAME_RULE,
  SECTION_NAME_RULE,
  WEIGHT,
  checkBackendObjectRef,
  checkHostnames,
  checkMaxItems,
  checkParentRefs,
  checkText,
  type BackendObjectRef,
  type ParentRef,
} from './gateway-api-refs.js';
import {
  checkFilterList,
  checkFilterShape,
  checkNameValueMatches,
  type CommonFilter,
  type NameValueMatch,
} from './gateway-api-filters.js';
import { gatewayApiVersions, type KindValidator } from './validator.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

const NAME_VALUE_MATCH = (types: readonly string[]): Shape =>
  obj({ type: enumOf(...types), name: STRING, value: STRING });

const PATH_MODIFIER = obj({
  type: enumOf('ReplaceFullPath', 'ReplacePrefixMatch'),
  replaceFullPath: STRING,
  replacePrefixMatch: STRING,
});

const HTTP_FILTER = obj({
  type: enumOf('RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'RequestRedirect', 'URLRewrite', 'CORS', 'ExtensionRef'),
  requestHeaderModifier: HEADER_FILTER,
  responseHeaderModifier: HEADER_FILTER,
  requestMirror: MIRROR_FILTER,
  requestRedirect: obj({
    scheme: enumOf('http', 'https'),
    hostname: STRING,
    path: PATH_MODIFIER,
    port: PORT_NUMBER,
    // The CRD's enum is 301 and 302.
    statusCode: { t: 'int', min: 301, max: 302 },
  }),
  urlRewrite: obj({ hostname: STRING, path: PATH_MODIFIER }),
  cors: obj({
    allowOrigins: STRINGS,
    allowCredentials: BOOL,
    allowMethods: arr(enumOf(...HTTP_METHODS, '*')),
    allowHeaders: STRINGS,
    exposeHeaders: STRINGS,
    maxAge: { t: 'int', min: 1, max: 2147483647 },
  }),
  extensionRef: LOCAL_OBJECT_REF,
});

const SPEC = obj({
  ...COMMON_ROUTE_FIELDS,
  hostnames: STRINGS,
  rules: arr(
    obj({
      name: STRING,
      matches: arr(
        obj({
          path: obj({ type: enumOf('Exact', 'PathPrefix', 'RegularExpression'), value: STRING }),
          headers: arr(NAME_VALUE_MATCH(['Exact', 'RegularExpression'])),
          queryParams: arr(NAME_VALUE_MATCH(['Exact', 'RegularExpression'])),
          method: enumOf(...HTTP_METHODS),
        }),
      ),
      filters: arr(HTTP_FILTER),
      backendRefs: arr(obj({ ...BACKEND_OBJECT_REF_FIELDS, weight: WEIGHT, filters: arr(HTTP_FILTER) })),
      timeouts: obj({ request: STRING, backendRequest: STRING }),
      retry: obj({
        codes: arr({ t: 'int', min: 400, max: 599 }),
        attempts: { t: 'int', min: 0, max: 2147483647 },
        backoff: STRING,
      }),
      sessionPersistence: ANY,
    }),
  ),
});

interface PathModifier {
  readonly type?: string;
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}
interface HttpFilter extends CommonFilter {
  readonly requestRedirect?: {
    readonly scheme?: string;
    readonly hostname?: string;
    readonly path?: PathModifier;
    readonly port?: number;
    readonly statusCode?: number;
  };
  readonly urlRewrite?: { readonly hostname?: string; readonly path?: PathModifier };
  readonly cors?: {
    readonly allowOrigins?: readonly string[];
    readonly allowMethods?: readonly string[];
    readonly allowHeaders?: readonly string[];
    readonly exposeHeaders?: readonly string[];
  };
}
interface HttpMatch {
  readonly path?: { readonly type?: string; readonly value?: string };
  readonly headers?: readonly NameValueMatch[];
  readonly queryParams?: readonly NameValueMatch[];
  readonly method?: string;
}
interface HttpRule {
  readonly name?: string;
  readonly matches?: readonly HttpMatch[];
  readonly filters?: readonly HttpFilter[];
  readonly backendRefs?: readonly (BackendObjectRef & { readonly filters?: readonly HttpFilter[] })[];
  readonly timeouts?: { readonly request?: string; readonly backendRequest?: string };
  readonly retry?: { readonly backoff?: string };
}
interface RawSpec {
  readonly parentRefs?: readonly ParentRef[];
  readonly hostnames?: readonly string[];
  readonly rules?: readonly HttpRule[];
}

const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  CORS: 'cors',
  ExtensionRef: 'extensionRef',
};
const UNIQUE_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'];

/** The characters the CRD allows in an Exact/PathPrefix path (RFC 3986 pchar and "/"). */
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;
const MAX_PATH = 1024;

/** The CEL rules on an Exact or PathPrefix path value; the first that fails, or undefined. */
export function pathValueError(value: string): string | undefined {
  if (!value.startsWith('/')) return 'value must be an absolute path and start with "/"';
  for (const bad of ['//', '/./', '/../', '%2f', '%2F', '#']) {
    if (value.includes(bad)) return `must not contain ${JSON.stringify(bad)}`;
  }
  for (const bad of ['/..', '/.']) {
    if (value.endsWith(bad)) return `must not end with ${JSON.stringify(bad)}`;
  }
  if (!PATH_CHARS.test(value)) return 'must only contain valid path characters (RFC 3986 pchar, "/" or %-escapes)';
  return undefined;
}

/** Gateway API durations in milliseconds (`1h30m`, `500ms`); undefined when not a duration. */
export function gatewayDurationMs(v: string): number | undefined {
  const re = /([0-9]{1,5})(ms|h|m|s)/y;
  const unit: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  let pos = 0;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (m === null) return undefined;
    total += Number(m[1]) * (unit[m[2] ?? ''] ?? NaN);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

function checkPathModifier(issues: Issues, path: string, m: PathModifier): void {
  if (m.type === undefined) {
    issues.add(field(path, 'type'), 'type is required');
    return;
  }
  const pairs = [
    ['ReplaceFullPath', 'replaceFullPath'],
    ['ReplacePrefixMatch', 'replacePrefixMatch'],
  ] as const;
  for (const [t, f] of pairs) {
    const v = m[f];
    if (m.type === t && v === undefined) issues.add(field(path, f), `${f} must be specified when type is ${t}`);
    if (m.type !== t && v !== undefined) issues.add(field(path, f), `type must be ${t} when ${f} is set`);
    if (v !== undefined) checkText(issues, field(path, f), v, { what: f, min: 0, max: MAX_PATH });
  }
}

function checkHttpFilter(issues: Issues, path: string, f: HttpFilter): void {
  checkFilterShape(issues, path, f as HttpFilter & Readonly<Record<string, unknown>>, FILTER_FIELDS);
  const redirect = f.type === 'RequestRedirect' ? f.requestRedirect : undefined;
  if (redirect !== undefined) {
    const rp = field(path, 'requestRedirect');
    checkText(issues, field(rp, 'hostname'), redirect.hostname, PRECISE_HOSTNAME_RULE);
    if (redirect.path !== undefined) checkPathModifier(issues, field(rp, 'path'), redirect.path);
  }
  const rewrite = f.type === 'URLRewrite' ? f.urlRewrite : undefined;
  if (rewrite !== undefined) {
    const rp = field(path, 'urlRewrite');
    checkText(issues, field(rp, 'hostname'), rewrite.hostname, PRECISE_HOSTNAME_RULE);
    if (rewrite.path !== undefined) checkPathModifier(issues, field(rp, 'path'), rewrite.path);
  }
  const cors = f.type === 'CORS' ? f.cors : undefined;
  if (cors !== undefined) {
    const cp = field(path, 'cors');
    checkMaxItems(issues, field(cp, 'allowOrigins'), cors.allowOrigins, 64, 'origins');
    checkMaxItems(issues, field(cp, 'allowMethods'), cors.allowMethods, 9, 'methods');
    if ((cors.allowMethods?.includes('*') ?? false) && (cors.allowMethods?.length ?? 0) > 1)
      issues.add(field(cp, 'allowMethods'), 'allowMethods cannot contain "*" alongside other methods');
    for (const h of ['allowHeaders', 'exposeHeaders'] as const) {
      checkMaxItems(issues, field(cp, h), cors[h], 64, 'headers');
      cors[h]?.forEach((n, i) => checkText(issues, index(field(cp, h), i), n, HEADER_NAME_RULE));
    }
  }
}

/**
 * The filters of a rule or of one of its backendRefs: each filter's shape,
 * repeats, RequestRedirect with URLRewrite, and the CEL rule that a
 * ReplacePrefixMatch needs exactly one PathPrefix match.
 */
function checkHttpFilters(issues: Issues, path: string, filters: readonly HttpFilter[] | undefined, matches: readonly HttpMatch[]): void {
  if (filters === undefined) return;
  filters.forEach((f, i) => checkHttpFilter(issues, index(path, i), f));
  checkFilterList(issues, path, filters, UNIQUE_FILTERS);
  const redirect = filters.findIndex((f) => f.type === 'RequestRedirect');
  const rewrite = filters.findIndex((f) => f.type === 'URLRewrite');
  if (redirect >= 0 && rewrite >= 0)
    issues.add(index(path, Math.max(redirect, rewrite)), 'a RequestRedirect and a URLRewrite filter cannot be used together');
  const onePrefix = matches.length === 1 && (matches[0]?.path?.type ?? 'PathPrefix') === 'PathPrefix';
  filters.forEach((f, i) => {
    const modifier = f.type === 'RequestRedirect' ? f.requestRedirect?.path : f.type === 'URLRewrite' ? f.urlRewrite?.path : undefined;
    if (modifier?.type === 'ReplacePrefixMatch' && modifier.replacePrefixMatch !== undefined && !onePrefix) {
      issues.add(
        field(field(index(path, i), f.type === 'RequestRedirect' ? 'requestRedirect' : 'urlRewrite'), 'path'),
        'ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix',
      );
    }
  });
}

function checkMatch(issues: Issues, path: string, m: HttpMatch): void {
  if (m.path !== undefined) {
    const pp = field(path, 'path');
    const type = m.path.type ?? 'PathPrefix';
    const value = m.path.value ?? '/';
    if (value.length > MAX_PATH) issues.add(field(pp, 'value'), `path must be no more than ${MAX_PATH} characters`);
    else if (type === 'RegularExpression') {
      if (value === '') issues.add(field(pp, 'value'), 'a regular expression must not be empty');
    } else {
      const e = pathValueError(value);
      if (e !== undefined) issues.add(field(pp, 'value'), e);
    }
  }
  checkNameValueMatches(issues, field(path, 'headers'), m.headers, { maxValue: 4096, caseInsensitive: true });
  checkNameValueMatches(issues, field(path, 'queryParams'), m.queryParams, { maxValue: 1024, caseInsensitive: false });
}

function checkTimeouts(issues: Issues, path: string, t: NonNullable<HttpRule['timeouts']>): void {
  checkText(issues, field(path, 'request'), t.request, DURATION_RULE);
  checkText(issues, field(path, 'backendRequest'), t.backendRequest, DURATION_RULE);
  const request = t.request === undefined ? undefined : gatewayDurationMs(t.request);
  const backend = t.backendRequest === undefined ? undefined : gatewayDurationMs(t.backendRequest);
  if (request !== undefined && backend !== undefined && request !== 0 && backend > request)
    issues.add(field(path, 'backendRequest'), 'backendRequest timeout cannot be longer than the request timeout');
}

function checkRule(issues: Issues, path: string, r: HttpRule): void {
  checkText(issues, field(path, 'name'), r.name, SECTION_NAME_RULE);
  const matches = r.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }];
  checkMaxItems(issues, field(path, 'matches'), r.matches, 64, 'matches');
  r.matches?.forEach((m, i) => checkMatch(issues, index(field(path, 'matches'), i), m));
  checkHttpFilters(issues, field(path, 'filters'), r.filters, matches);
  const backends = r.backendRefs ?? [];
  checkMaxItems(issues, field(path, 'backendRefs'), r.backendRefs, 16, 'backendRefs');
  if (backends.length > 0) {
    const redirect = r.filters?.findIndex((f) => f.type === 'RequestRedirect') ?? -1;
    if (redirect >= 0)
      issues.add(index(field(path, 'filters'), redirect), 'a RequestRedirect filter must not be used together with backendRefs');
  }
  backends.forEach((b, i) => {
    const bp = index(field(path, 'backendRefs'), i);
    checkBackendObjectRef(issues, bp, b);
    checkHttpFilters(issues, field(bp, 'filters'), b.filters, matches);
  });
  if (r.timeouts !== undefined) checkTimeouts(issues, field(path, 'timeouts'), r.timeouts);
  checkText(issues, field(path, 'retry.backoff'), r.retry?.backoff, DURATION_RULE);
}

/** Rules of HTTPRoute and GRPCRoute: at most 16, names unique, at most 128 matches in all. */
export function checkRuleList(
  issues: Issues,
  path: string,
  rules: readonly { readonly name?: string; readonly matches?: readonly unknown[] }[] | undefined,
): void {
  if (rules === undefined) return;
  checkMaxItems(issues, path, rules, 16, 'rules');
  const total = rules.reduce((n, r) => n + (r.matches?.length ?? 0), 0);
  if (total > 128) issues.add(path, `a route may have at most 128 matches across all its rules, found ${total}`);
  const names = new Set<string>();
  rules.forEach((r, i) => {
    if (r.name === undefined) return;
    if (names.has(r.name)) issues.add(field(index(path, i), 'name'), `rule name ${JSON.stringify(r.name)} must be unique within the route`);
    names.add(r.name);
  });
}

export const httpRouteValidator: KindValidator<'HTTPRoute'> = {
  kind: 'HTTPRoute',
  apiVersions: gatewayApiVersions('v1', 'v1beta1'),
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    const raw = top['spec'] as RawSpec;
    checkParentRefs(issues, 'spec.parentRefs', raw.parentRefs);
    checkHostnames(issues, 'spec.hostnames', raw.hostnames);
    checkRuleList(issues, 'spec.rules', raw.rules);
    raw.rules?.forEach((r, i) => checkRule(issues, index('spec.rules', i), r));
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
