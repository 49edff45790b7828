/** The waypoint's route decision: which route of which target a request takes, and everything its action needs. */
import type { CorsPolicy, HeaderMatch, HeaderOps, HttpMatch, HttpRoute, RetryPolicy, WaypointConfig, WeightedCluster } from '../../shared/l7/waypoint-config.js';
import type { L7Request } from './request.js';
import { mergeHeaderOps, rewritePath } from './rewrite.js';
import { stringMatches } from './string-match.js';

export interface FaultDecision {
  readonly delayMs?: number;
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number };
}

export type RouteDecision =
  | { readonly kind: 'no-service' }
  | { readonly kind: 'no-route' }
  | { readonly kind: 'direct'; readonly status: number; readonly body: string }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  | {
      readonly kind: 'forward';
      readonly route: string;
      readonly cluster: string;
      readonly clusterFound: boolean;
      readonly path: string;
      readonly authority: string;
      readonly requestHeaders: HeaderOps;
      readonly responseHeaders: HeaderOps;
      readonly timeoutMs?: number;
      readonly retries: RetryPolicy;
      readonly fault: FaultDecision;
      readonly mirrors: readonly string[];
      readonly cors?: CorsPolicy;
    };

const EMPTY_OPS: HeaderOps = { set: {}, add: {}, remove: [] };
const NO_RETRY: RetryPolicy = { attempts: 0, retryOn: [], retriableStatusCodes: [], retryOtherHosts: false };

/** Host without its port (IPv6 literals kept in brackets). */
export function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

function queryParams(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf('?');
  if (q < 0) return out;
  for (const part of path.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!out.has(name)) out.set(name, eq < 0 ? '' : part.slice(eq + 1));
  }
  return out;
}

function headerMatches(m: HeaderMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return m.match === undefined || stringMatches(m.match, value);
}

/** Whether one HttpMatch matches the request. */
export function httpMatchMatches(m: HttpMatch, req: L7Request): boolean {
  const q = req.path.indexOf('?');
  const bare = q < 0 ? req.path : req.path.slice(0, q);
  if (m.uri !== undefined && !stringMatches(m.uri, bare, m.ignoreUriCase === true)) return false;
  if (m.method !== undefined && !stringMatches(m.method, req.method)) return false;
  if (m.authority !== undefined && !stringMatches(m.authority, stripPort(req.authority))) return false;
  if (m.scheme !== undefined && !stringMatches(m.scheme, req.scheme)) return false;
  if (m.port !== undefined && m.port !== req.port) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== req.source.namespace) return false;
  if (m.sourceLabels !== undefined) {
    const labels = req.source.labels ?? {};
    for (const [k, v] of Object.entries(m.sourceLabels)) if (labels[k] !== v) return false;
  }
  for (const h of m.headers) if (!headerMatches(h, req.headers[h.name])) return false;
  for (const h of m.withoutHeaders) if (headerMatches(h, req.headers[h.name])) return false;
  if (m.queryParams.length > 0) {
    const params = queryParams(req.path);
    for (const p of m.queryParams) if (!headerMatches(p, params.get(p.name))) return false;
  }
  return true;
}

/** The first route matching `req`, with the match that did (undefined for a match-all route). */
export function findRoute(routes: readonly HttpRoute[], req: L7Request): { route: HttpRoute; match: HttpMatch | undefined } | undefined {
  for (const route of routes) {
    if (route.matches.length === 0) return { route, match: undefined };
    const match = route.matches.find((m) => httpMatchMatches(m, req));
    if (match !== undefined) return { route, match };
  }
  return undefined;
}

/** Picks by relative weight with `random()` in [0,1); 0 weights never picked; undefined when all are 0. */
export function pickWeighted(clusters: readonly WeightedCluster[], random: () => number): WeightedCluster | undefined {
  const live = clusters.filter((c) => Number.isFinite(c.weight) && c.weight > 0);
  const total = live.reduce((s, c) => s + c.weight, 0);
  if (total <= 0) return undefined;
  let point = clamp01(random()) * total;
  for (const c of live) {
    if (point < c.weight) return c;
    point -= c.weight;
  }
  return live[live.length - 1];
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), 0.9999999999) : 0;
}

/** Whether a percentage (0..100) fires: 100 always, 0 never. */
export function percentFires(percent: number, random: () => number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return clamp01(random()) * 100 < percent;
}

function redirectLocation(action: Extract<HttpRoute['action'], { kind: 'redirect' }>, req: L7Request, match: HttpMatch | undefined): string {
  const scheme = action.scheme ?? req.scheme;
  const host = stripPort(action.authority ?? req.authority);
  const originalPort = req.authority.length > stripPort(req.authority).length ? req.authority.slice(stripPort(req.authority).length + 1) : '';
  let port = action.port !== undefined ? String(action.port) : action.authority === undefined ? originalPort : '';
  if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) port = '';
  if (action.scheme !== undefined && action.port === undefined && action.scheme !== req.scheme) port = '';
  const matchedPrefix = match?.uri !== undefined && 'prefix' in match.uri ? match.uri.prefix : undefined;
  const path = action.path !== undefined ? rewritePath(req.path, { fullPath: action.path }, undefined) : action.prefix !== undefined ? rewritePath(req.path, { prefix: action.prefix }, matchedPrefix) : req.path;
  return `${scheme}://${host}${port === '' ? '' : `:${port}`}${path}`;
}

/** Routes `req` through `config`; `random` in [0,1) draws weights and percentages. */
export function routeRequest(config: WaypointConfig, req: L7Request, random: () => number): RouteDecision {
  let routes: readonly HttpRoute[];
  if (req.destination.kind === 'service') {
    const hostname = req.destination.hostname.toLowerCase();
    const service = config.services.find((s) => s.hostname.toLowerCase() === hostname);
    if (service === undefined) return { kind: 'no-service' };
    routes = service.http;
  } else {
    const ip = req.destination.ip;
    const target = config.workloads.find((w) => w.ip === ip);
    if (target === undefined) return { kind: 'no-service' };
    const service = config.services.find((s) => s.vips.includes(ip));
    routes = service?.http ?? [];
    if (routes.length === 0) return forwardTo(target.uid, undefined, config, req, random);
  }
  const found = findRoute(routes, req);
  if (found === undefined) return { kind: 'no-route' };
  const { route, match } = found;
  const action = route.action;
  if (action.kind === 'direct') return { kind: 'direct', status: action.status, body: action.body ?? '' };
  if (action.kind === 'redirect') return { kind: 'redirect', status: action.status, location: redirectLocation(action, req, match) };
  const picked = pickWeighted(action.clusters, random);
  if (picked === undefined) return { kind: 'no-route' };
  return forwardTo(picked.cluster, { route, match, picked }, config, req, random);
}

function forwardTo(
  cluster: string,
  chosen: { route: HttpRoute; match: HttpMatch | undefined; picked: WeightedCluster } | undefined,
  config: WaypointConfig,
  req: L7Request,
  random: () => number,
): RouteDecision {
  const clusterFound = Object.prototype.hasOwnProperty.call(config.clusters, cluster);
  if (chosen === undefined) {
    return { kind: 'forward', route: '', cluster, clusterFound, path: req.path, authority: req.authority, requestHeaders: EMPTY_OPS, responseHeaders: EMPTY_OPS, retries: NO_RETRY, fault: {}, mirrors: [] };
  }
  const { route, match, picked } = chosen;
  const matchedPrefix = match?.uri !== undefined && 'prefix' in match.uri ? match.uri.prefix : undefined;
  const fault: { delayMs?: number; abort?: { httpStatus?: number; grpcStatus?: number } } = {};
  if (route.fault?.delay !== undefined && percentFires(route.fault.delay.percent, random)) fault.delayMs = route.fault.delay.fixedDelayMs;
  const abort = route.fault?.abort;
  if (abort !== undefined && percentFires(abort.percent, random)) {
    fault.abort = {};
    if (abort.httpStatus !== undefined) fault.abort.httpStatus = abort.httpStatus;
    if (abort.grpcStatus !== undefined) fault.abort.grpcStatus = abort.grpcStatus;
  }
  const mirrors = route.mirrors.filter((m) => percentFires(m.percent, random)).map((m) => m.cluster);
  const decision: RouteDecision = {
    kind: 'forward',
    route: route.name,
    cluster,
    clusterFound,
    path: rewritePath(req.path, route.rewrite, matchedPrefix),
    authority: route.rewrite?.authority ?? req.authority,
    requestHeaders: mergeHeaderOps(route.headers.request, picked.headers?.request),
    responseHeaders: mergeHeaderOps(route.headers.response, picked.headers?.response),
    retries: route.retries,
    fault,
    mirrors,
    ...(route.timeoutMs !== undefined ? { timeoutMs: route.timeoutMs } : {}),
    ...(route.cors !== undefined ? { cors: route.cors } : {}),
  };
  return decision;
}
