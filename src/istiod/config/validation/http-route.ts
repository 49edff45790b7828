/**
 * The pieces of a VirtualService route (networking.istio.io
 * HTTPRoute, RouteDestination, StringMatch...) with Istio's rules for them
 * (validateHTTPRoute and friends in pkg/config/validation).
 */
import {
  BOOL,
  INT32,
  NUMBER,
  STRING,
  STRING_MAP,
  STRINGS,
  UINT32,
  arr,
  enumOf,
  field,
  index,
  key,
  map,
  obj,
  type Issues,
  type Shape,
} from './shape.js';
import {
  checkDuration,
  checkLabels,
  checkPort,
  dns1123LabelError,
  durationError,
  gatewayRefError,
  parseDurationNs,
  wildcardDomainError,
} from './fields.js';

// ---------- shapes ----------

export const STRING_MATCH: Shape = obj({ exact: STRING, prefix: STRING, regex: STRING });
export const PERCENT: Shape = obj({ value: NUMBER });
export const DESTINATION: Shape = obj({ host: STRING, subset: STRING, port: obj({ number: UINT32 }) });
const HEADER_OPERATIONS: Shape = obj({ set: STRING_MAP, add: STRING_MAP, remove: STRINGS });
const HEADERS: Shape = obj({ request: HEADER_OPERATIONS, response: HEADER_OPERATIONS });

export const ROUTE_DESTINATION: Shape = obj({ destination: DESTINATION, weight: INT32 });
const HTTP_ROUTE_DESTINATION: Shape = obj({ destination: DESTINATION, weight: INT32, headers: HEADERS });

const HTTP_MATCH: Shape = obj({
  name: STRING,
  uri: STRING_MATCH,
  scheme: STRING_MATCH,
  method: STRING_MATCH,
  authority: STRING_MATCH,
  headers: map(STRING_MATCH),
  port: UINT32,
  sourceLabels: STRING_MAP,
  gateways: STRINGS,
  queryParams: map(STRING_MATCH),
  ignoreUriCase: BOOL,
  withoutHeaders: map(STRING_MATCH),
  sourceNamespace: STRING,
  statPrefix: STRING,
});

export const HTTP_ROUTE: Shape = obj({
  name: STRING,
  match: arr(HTTP_MATCH),
  route: arr(HTTP_ROUTE_DESTINATION),
  redirect: obj({
    uri: STRING,
    authority: STRING,
    port: UINT32,
    derivePort: enumOf('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'),
    scheme: STRING,
    redirectCode: UINT32,
  }),
  directResponse: obj({ status: UINT32, body: obj({ string: STRING, bytes: STRING }) }),
  delegate: obj({ name: STRING, namespace: STRING }),
  rewrite: obj({ uri: STRING, authority: STRING, uriRegexRewrite: obj({ match: STRING, rewrite: STRING }) }),
  timeout: STRING,
  retries: obj({
    attempts: INT32,
    perTryTimeout: STRING,
    retryOn: STRING,
    retryRemoteLocalities: BOOL,
    retryIgnorePreviousHosts: BOOL,
    backoff: STRING,
  }),
  fault: obj({
    delay: obj({ fixedDelay: STRING, exponentialDelay: STRING, percentage: PERCENT, percent: INT32 }),
    abort: obj({ httpStatus: INT32, grpcStatus: STRING, http2Error: STRING, percentage: PERCENT }),
  }),
  mirror: DESTINATION,
  mirrors: arr(obj({ destination: DESTINATION, percentage: PERCENT })),
  mirrorPercent: UINT32,
  mirrorPercentage: PERCENT,
  corsPolicy: obj({
    allowOrigins: arr(STRING_MATCH),
    allowOrigin: STRINGS,
    allowMethods: STRINGS,
    allowHeaders: STRINGS,
    exposeHeaders: STRINGS,
    maxAge: STRING,
    allowCredentials: BOOL,
    unmatchedPreflights: enumOf('UNSPECIFIED', 'FORWARD', 'IGNORE'),
  }),
  headers: HEADERS,
});

// ---------- decoded forms ----------

export interface StringMatch {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}
export interface Destination {
  readonly host?: string;
  readonly subset?: string;
  readonly port?: { readonly number?: number };
}
export interface RouteDestination {
  readonly destination?: Destination;
  readonly weight?: number;
  readonly headers?: Headers;
}
interface HeaderOperations {
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}
interface Headers {
  readonly request?: HeaderOperations;
  readonly response?: HeaderOperations;
}
interface Percent {
  readonly value?: number;
}
interface HttpMatch {
  readonly uri?: StringMatch;
  readonly scheme?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  readonly headers?: Readonly<Record<string, StringMatch>>;
  readonly withoutHeaders?: Readonly<Record<string, StringMatch>>;
  readonly queryParams?: Readonly<Record<string, StringMatch>>;
  readonly port?: number;
  readonly sourceLabels?: Readonly<Record<string, string>>;
  readonly gateways?: readonly string[];
  readonly sourceNamespace?: string;
}
export interface HttpRoute {
  readonly name?: string;
  readonly match?: readonly HttpMatch[];
  readonly route?: readonly RouteDestination[];
  readonly redirect?: {
    readonly uri?: string;
    readonly authority?: string;
    readonly port?: number;
    readonly derivePort?: string;
    readonly scheme?: string;
    readonly redirectCode?: number;
  };
  readonly directResponse?: {
    readonly status?: number;
    readonly body?: { readonly string?: string; readonly bytes?: string };
  };
  readonly delegate?: { readonly name?: string; readonly namespace?: string };
  readonly rewrite?: {
    readonly uri?: string;
    readonly authority?: string;
    readonly uriRegexRewrite?: { readonly match?: string; readonly rewrite?: string };
  };
  readonly timeout?: string;
  readonly retries?: {
    readonly attempts?: number;
    readonly perTryTimeout?: string;
    readonly retryOn?: string;
    readonly retryRemoteLocalities?: boolean;
    readonly backoff?: string;
  };
  readonly fault?: {
    readonly delay?: {
      readonly fixedDelay?: string;
      readonly exponentialDelay?: string;
      readonly percentage?: Percent;
      readonly percent?: number;
    };
    readonly abort?: {
      readonly httpStatus?: number;
      readonly grpcStatus?: string;
      readonly http2Error?: string;
      readonly percentage?: Percent;
    };
  };
  readonly mirror?: Destination;
  readonly mirrors?: readonly { readonly destination?: Destination; readonly percentage?: Percent }[];
  readonly mirrorPercent?: number;
  readonly mirrorPercentage?: Percent;
  readonly corsPolicy?: {
    readonly allowOrigins?: readonly StringMatch[];
    readonly allowMethods?: readonly string[];
    readonly allowHeaders?: readonly string[];
    readonly exposeHeaders?: readonly string[];
    readonly maxAge?: string;
  };
  readonly headers?: Headers;
}

// ---------- shared checks ----------

/** Envoy's regex engine is RE2: no look-around and no back-references; Istio caps the length at 1024. */
export function regexError(re: string): string | undefined {
  if (re.length > 1024) return 'regex is too large, max length allowed is 1024';
  if (/\(\?<?[=!]/.test(re)) return `${JSON.stringify(re)}: look-around is not supported by RE2`;
  if (/\\[1-9]/.test(re)) return `${JSON.stringify(re)}: back-references are not supported by RE2`;
  try {
    new RegExp(re, 'u');
  } catch (err) {
    return `${JSON.stringify(re)} is not a valid regex: ${err instanceof Error ? err.message : String(err)}`;
  }
  return undefined;
}

export function checkStringMatch(issues: Issues, path: string, m: StringMatch | undefined): void {
  if (m === undefined) return;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined);
  if (set.length > 1) {
    issues.add(path, `only one of exact, prefix or regex may be set (found ${set.join(', ')})`);
    return;
  }
  if (m.prefix !== undefined && m.prefix === '')
    issues.add(field(path, 'prefix'), 'prefix string match should not be empty');
  if (m.regex !== undefined) {
    const e = m.regex === '' ? 'regex string match should not be empty' : regexError(m.regex);
    if (e !== undefined) issues.add(field(path, 'regex'), e);
  }
}

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;

export function headerNameError(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  return HEADER_NAME.test(name)
    ? undefined
    : `header name ${JSON.stringify(name)} is not a valid header name`;
}

function headerValueError(v: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000A-\u001F\u007F]/.test(v)
    ? `header value ${JSON.stringify(v)} contains control characters`
    : undefined;
}

function isInternalHeader(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

function checkHeaderOperations(
  issues: Issues,
  path: string,
  ops: HeaderOperations | undefined,
  request: boolean,
): void {
  if (ops === undefined) return;
  for (const op of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(ops[op] ?? {})) {
      const p = key(field(path, op), name);
      if (name === '') issues.add(p, 'header name cannot be empty');
      else if (
        request
          ? isInternalHeader(name) && !['host', ':authority'].includes(name.toLowerCase())
          : isInternalHeader(name)
      ) {
        issues.add(p, `invalid header ${JSON.stringify(name)}: cannot modify host or pseudo headers`);
      }
      const ve = headerValueError(value);
      if (ve !== undefined) issues.add(p, ve);
    }
  }
  ops.remove?.forEach((name, i) => {
    const p = index(field(path, 'remove'), i);
    if (name === '') issues.add(p, 'header name cannot be empty');
    else if (isInternalHeader(name))
      issues.add(p, `invalid header ${JSON.stringify(name)}: cannot remove host or pseudo headers`);
  });
}

function checkHeaders(issues: Issues, path: string, h: Headers | undefined): void {
  if (h === undefined) return;
  checkHeaderOperations(issues, field(path, 'request'), h.request, true);
  checkHeaderOperations(issues, field(path, 'response'), h.response, false);
}

export function checkDestination(issues: Issues, path: string, d: Destination | undefined): void {
  if (d === undefined) return;
  const host = d.host ?? '';
  if (host === '') issues.add(field(path, 'host'), 'destination host is required');
  else if (host === '*') issues.add(field(path, 'host'), 'invalid destination host *');
  else {
    const e = wildcardDomainError(host);
    if (e !== undefined) issues.add(field(path, 'host'), e);
  }
  if (d.subset !== undefined) {
    const e = d.subset === '' ? 'subset name cannot be empty' : dns1123LabelError(d.subset);
    if (e !== undefined) issues.add(field(path, 'subset'), e);
  }
  if (d.port !== undefined) checkPort(issues, field(path, 'port.number'), d.port.number ?? 0);
}

/**
 * Route destinations: each needs a destination; weights are relative, so
 * their total need not be 100, but none may be negative and several
 * destinations may not all weigh zero.
 */
export function checkRouteDestinations(
  issues: Issues,
  path: string,
  routes: readonly RouteDestination[] | undefined,
): void {
  if (routes === undefined) return;
  let total = 0;
  routes.forEach((r, i) => {
    const p = index(path, i);
    if (r.destination === undefined) issues.add(field(p, 'destination'), 'destination is required');
    else checkDestination(issues, field(p, 'destination'), r.destination);
    checkHeaders(issues, field(p, 'headers'), r.headers);
    const w = r.weight ?? 0;
    if (w < 0) issues.add(field(p, 'weight'), `weight ${w} must not be negative`);
    total += w;
  });
  if (routes.length > 1 && total === 0)
    issues.add(path, 'total destination weight = 0; at least one destination needs a positive weight');
}

/** Istio's match and route checks on `sourceLabels`, `gateways`, `port`, `sourceNamespace`. */
export function checkMatchCommon(
  issues: Issues,
  path: string,
  m: {
    readonly port?: number;
    readonly sourceLabels?: Readonly<Record<string, string>>;
    readonly gateways?: readonly string[];
    readonly sourceNamespace?: string;
  },
): void {
  if (m.port !== undefined && m.port !== 0) checkPort(issues, field(path, 'port'), m.port);
  checkLabels(issues, field(path, 'sourceLabels'), m.sourceLabels);
  m.gateways?.forEach((g, i) => {
    const e = gatewayRefError(g);
    if (e !== undefined) issues.add(index(field(path, 'gateways'), i), e);
  });
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== '') {
    const e = dns1123LabelError(m.sourceNamespace);
    if (e !== undefined) issues.add(field(path, 'sourceNamespace'), `sourceNamespace match is invalid: ${e}`);
  }
}

function checkPercent(issues: Issues, path: string, p: Percent | undefined): void {
  if (p === undefined) return;
  const v = p.value ?? 0;
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) {
    issues.add(field(path, 'value'), `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`);
  }
}

// ---------- HTTP route ----------

const SUPPORTED_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
]);

const RETRY_ON_POLICIES = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

/** The HTTP status codes Go's http.StatusText knows (Istio accepts them in retryOn). */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307,
  308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421,
  422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

const GRPC_STATUS = new Set([
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]);

function checkConflicts(issues: Issues, path: string, r: HttpRoute): void {
  const hasRoute = (r.route?.length ?? 0) > 0;
  if (r.delegate !== undefined) {
    if (r.redirect !== undefined)
      issues.add(field(path, 'redirect'), 'a route with delegate must not specify redirect');
    if (hasRoute) issues.add(field(path, 'route'), 'a route with delegate must not specify route');
    if (r.directResponse !== undefined)
      issues.add(field(path, 'directResponse'), 'a route with delegate must not specify directResponse');
    if (r.delegate.name === undefined || r.delegate.name === '')
      issues.add(field(path, 'delegate.name'), 'delegate name is required');
    return;
  }
  const actions = [
    hasRoute ? 'route' : '',
    r.redirect !== undefined ? 'redirect' : '',
    r.directResponse !== undefined ? 'directResponse' : '',
  ].filter((a) => a !== '');
  if (actions.length === 0) {
    if (!issues.isIncomplete(path)) issues.add(path, 'one of route, redirect or directResponse is required');
  } else if (actions.length > 1) {
    issues.add(
      field(path, actions[1] ?? ''),
      `HTTP route cannot contain both ${actions[0]} and ${actions[1]}`,
    );
  }
  if (r.redirect !== undefined) {
    if (r.fault !== undefined)
      issues.add(field(path, 'fault'), 'HTTP route cannot contain both fault and redirect');
    if (r.rewrite !== undefined)
      issues.add(field(path, 'rewrite'), 'HTTP route cannot contain both rewrite and redirect');
  }
}

function checkMatch(issues: Issues, path: string, m: HttpMatch): void {
  for (const f of ['uri', 'scheme', 'method', 'authority'] as const)
    checkStringMatch(issues, field(path, f), m[f]);
  for (const f of ['headers', 'withoutHeaders'] as const) {
    for (const [name, sm] of Object.entries(m[f] ?? {})) {
      const p = key(field(path, f), name);
      const e = headerNameError(name);
      if (e !== undefined) issues.add(p, e);
      checkStringMatch(issues, p, sm);
    }
  }
  for (const [name, sm] of Object.entries(m.queryParams ?? {}))
    checkStringMatch(issues, key(field(path, 'queryParams'), name), sm);
  checkMatchCommon(issues, path, m);
}

function checkRedirect(issues: Issues, path: string, r: NonNullable<HttpRoute['redirect']>): void {
  if (
    (r.uri ?? '') === '' &&
    (r.authority ?? '') === '' &&
    r.port === undefined &&
    r.derivePort === undefined &&
    (r.scheme ?? '') === ''
  ) {
    issues.add(path, 'redirect must specify uri, authority, scheme, port or derivePort');
  }
  if (r.port !== undefined && r.derivePort !== undefined)
    issues.add(field(path, 'derivePort'), 'only one of port or derivePort may be set');
  if (
    r.redirectCode !== undefined &&
    r.redirectCode !== 0 &&
    (r.redirectCode < 300 || r.redirectCode > 399)
  ) {
    issues.add(field(path, 'redirectCode'), `${r.redirectCode} is not a valid redirect code, must be 3xx`);
  }
  if (r.scheme !== undefined && r.scheme !== '' && r.scheme !== 'http' && r.scheme !== 'https') {
    issues.add(field(path, 'scheme'), 'invalid redirect scheme, must be "http" or "https"');
  }
  if (r.port !== undefined && r.port !== 0) checkPort(issues, field(path, 'port'), r.port);
}

function checkDirectResponse(
  issues: Issues,
  path: string,
  d: NonNullable<HttpRoute['directResponse']>,
): void {
  const status = d.status ?? 0;
  if (status < 200 || status > 599)
    issues.add(field(path, 'status'), `HTTP status ${status} is not in range 200-599`);
  if (d.body?.string !== undefined && d.body.bytes !== undefined)
    issues.add(field(path, 'body'), 'only one of string or bytes may be set');
  const size = Buffer.byteLength(d.body?.string ?? '') + Buffer.byteLength(d.body?.bytes ?? '', 'base64');
  if (size > 1024 * 1024)
    issues.add(
      field(path, 'body'),
      'large direct responses may impact control plane performance, must be less than 1MB',
    );
}

function checkRetries(issues: Issues, path: string, r: NonNullable<HttpRoute['retries']>): void {
  const attempts = r.attempts ?? 0;
  if (attempts < 0) issues.add(field(path, 'attempts'), 'attempts cannot be negative');
  if (
    attempts === 0 &&
    (r.perTryTimeout !== undefined || (r.retryOn ?? '') !== '' || r.retryRemoteLocalities !== undefined)
  ) {
    issues.add(path, 'retry policy configured when attempts are set to 0 (disabled)');
  }
  checkDuration(issues, field(path, 'perTryTimeout'), r.perTryTimeout);
  checkDuration(issues, field(path, 'backoff'), r.backoff);
  if (r.retryOn !== undefined && r.retryOn !== '') {
    for (const policy of r.retryOn.split(',')) {
      const code = /^[0-9]+$/.test(policy) ? Number(policy) : NaN;
      if (!KNOWN_STATUS.has(code) && !RETRY_ON_POLICIES.has(policy)) {
        issues.add(field(path, 'retryOn'), `${JSON.stringify(policy)} is not a valid retryOn policy`);
      }
    }
  }
}

function checkFault(issues: Issues, path: string, f: NonNullable<HttpRoute['fault']>): void {
  if (f.abort === undefined && f.delay === undefined)
    issues.add(path, 'HTTP fault injection must have an abort and/or a delay');
  if (f.abort !== undefined) {
    const a = f.abort;
    const p = field(path, 'abort');
    checkPercent(issues, field(p, 'percentage'), a.percentage);
    const kinds = (['httpStatus', 'grpcStatus', 'http2Error'] as const).filter((k) => a[k] !== undefined);
    if (kinds.length > 1)
      issues.add(
        p,
        `only one of httpStatus, grpcStatus or http2Error may be set (found ${kinds.join(', ')})`,
      );
    if (a.http2Error !== undefined)
      issues.add(field(p, 'http2Error'), 'HTTP/2 abort fault injection not supported yet');
    if (a.httpStatus !== undefined && (a.httpStatus < 200 || a.httpStatus > 599)) {
      issues.add(field(p, 'httpStatus'), `HTTP status ${a.httpStatus} is not in range 200-599`);
    }
    if (a.grpcStatus !== undefined && !GRPC_STATUS.has(a.grpcStatus)) {
      issues.add(
        field(p, 'grpcStatus'),
        `gRPC status ${JSON.stringify(a.grpcStatus)} is not supported (e.g. NOT_FOUND, UNAVAILABLE)`,
      );
    }
  }
  if (f.delay !== undefined) {
    const d = f.delay;
    const p = field(path, 'delay');
    checkPercent(issues, field(p, 'percentage'), d.percentage);
    if (d.percent !== undefined && (d.percent < 0 || d.percent > 100)) {
      issues.add(field(p, 'percent'), `percentage ${d.percent} is not in range 0..100`);
    }
    if (d.fixedDelay !== undefined && d.exponentialDelay !== undefined)
      issues.add(p, 'only one of fixedDelay or exponentialDelay may be set');
    checkDuration(issues, field(p, 'fixedDelay'), d.fixedDelay);
    if (d.exponentialDelay !== undefined)
      issues.add(field(p, 'exponentialDelay'), 'exponentialDelay not supported yet');
  }
}

function checkCors(issues: Issues, path: string, c: NonNullable<HttpRoute['corsPolicy']>): void {
  c.allowOrigins?.forEach((o, i) => {
    const p = index(field(path, 'allowOrigins'), i);
    if ((o.exact ?? o.prefix ?? o.regex ?? '') === '')
      issues.add(p, 'allowOrigins entries need a non-empty exact, prefix or regex');
    else checkStringMatch(issues, p, o);
  });
  c.allowMethods?.forEach((m, i) => {
    if (!SUPPORTED_METHODS.has(m))
      issues.add(
        index(field(path, 'allowMethods'), i),
        `${JSON.stringify(m)} is not a supported HTTP method`,
      );
  });
  for (const f of ['allowHeaders', 'exposeHeaders'] as const) {
    c[f]?.forEach((h, i) => {
      const e = h === '*' ? undefined : headerNameError(h);
      if (e !== undefined) issues.add(index(field(path, f), i), e);
    });
  }
  if (c.maxAge !== undefined) {
    const e = durationError(c.maxAge);
    if (e !== undefined) issues.add(field(path, 'maxAge'), e);
    else if ((parseDurationNs(c.maxAge) ?? 0) % 1e9 !== 0)
      issues.add(field(path, 'maxAge'), 'maxAge is accurate only to seconds precision');
  }
}

function checkRewrite(issues: Issues, path: string, r: NonNullable<HttpRoute['rewrite']>): void {
  if ((r.uri ?? '') !== '' && r.uriRegexRewrite !== undefined)
    issues.add(path, 'rewrite may only contain one of uri or uriRegexRewrite');
  if ((r.uri ?? '') === '' && r.uriRegexRewrite === undefined && (r.authority ?? '') === '') {
    issues.add(path, 'rewrite must specify at least one of uri, uriRegexRewrite or authority');
  }
  const rr = r.uriRegexRewrite;
  if (rr !== undefined) {
    if ((rr.match ?? '') === '' || (rr.rewrite ?? '') === '') {
      issues.add(field(path, 'uriRegexRewrite'), 'uriRegexRewrite requires both match and rewrite');
    } else {
      const e = regexError(rr.match ?? '');
      if (e !== undefined) issues.add(field(path, 'uriRegexRewrite.match'), e);
    }
  }
}

function checkMirrors(issues: Issues, path: string, r: HttpRoute): void {
  if (r.mirrorPercent !== undefined && r.mirrorPercent > 100) {
    issues.add(
      field(path, 'mirrorPercent'),
      `mirrorPercent must have a max value of 100 (it has ${r.mirrorPercent})`,
    );
  }
  const mp = r.mirrorPercentage?.value;
  if (mp !== undefined && (mp < 0 || mp > 100)) {
    issues.add(
      field(path, 'mirrorPercentage.value'),
      `mirrorPercentage must be in range 0..100 (it has ${mp})`,
    );
  }
  checkDestination(issues, field(path, 'mirror'), r.mirror);
  r.mirrors?.forEach((m, i) => {
    const p = index(field(path, 'mirrors'), i);
    if (m.destination === undefined)
      issues.add(field(p, 'destination'), 'destination is required for mirrors');
    else checkDestination(issues, field(p, 'destination'), m.destination);
    const v = m.percentage?.value;
    if (v !== undefined && (v < 0 || v > 100))
      issues.add(field(p, 'percentage.value'), `mirror percentage must be in range 0..100 (it has ${v})`);
  });
}

/** All of Istio's checks on one HTTP route, at `path` (`spec.http[2]`). */
export function checkHttpRoute(issues: Issues, path: string, r: HttpRoute): void {
  checkConflicts(issues, path, r);
  r.match?.forEach((m, i) => checkMatch(issues, index(field(path, 'match'), i), m));
  checkHeaders(issues, field(path, 'headers'), r.headers);
  if (r.corsPolicy !== undefined) checkCors(issues, field(path, 'corsPolicy'), r.corsPolicy);
  if (r.fault !== undefined) checkFault(issues, field(path, 'fault'), r.fault);
  checkMirrors(issues, path, r);
  if (r.redirect !== undefined) checkRedirect(issues, field(path, 'redirect'), r.redirect);
  if (r.directResponse !== undefined)
    checkDirectResponse(issues, field(path, 'directResponse'), r.directResponse);
  if (r.retries !== undefined) checkRetries(issues, field(path, 'retries'), r.retries);
  if (r.rewrite !== undefined) checkRewrite(issues, field(path, 'rewrite'), r.rewrite);
  checkRouteDestinations(issues, field(path, 'route'), r.route);
  checkDuration(issues, field(path, 'timeout'), r.timeout);
}
