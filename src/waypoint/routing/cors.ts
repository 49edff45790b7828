/** CORS as Envoy's filter: preflights answered here, actual requests get allow headers on the response. */
import type { CorsPolicy } from '../../shared/l7/waypoint-config.js';
import type { L7Request } from './request.js';
import { stringMatches } from './string-match.js';

export type CorsDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'preflight'; readonly status: 200; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'forward-preflight' }
  | { readonly kind: 'actual'; readonly responseHeaders: Readonly<Record<string, string>> };

/** What CORS does with `req` under `policy`. */
export function decideCors(policy: CorsPolicy | undefined, req: L7Request): CorsDecision {
  const origin = req.headers['origin'];
  if (policy === undefined || origin === undefined) return { kind: 'none' };
  const matched = policy.allowOrigins.some((m) => stringMatches(m, origin));
  const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  const base: Record<string, string> = { 'access-control-allow-origin': origin };
  if (policy.allowCredentials === true) base['access-control-allow-credentials'] = 'true';
  if (isPreflight) {
    if (!matched) return policy.unmatchedPreflights === 'FORWARD' ? { kind: 'forward-preflight' } : { kind: 'none' };
    const headers = { ...base };
    if (policy.allowMethods.length > 0) headers['access-control-allow-methods'] = policy.allowMethods.join(',');
    if (policy.allowHeaders.length > 0) headers['access-control-allow-headers'] = policy.allowHeaders.join(',');
    if (policy.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(policy.maxAgeSeconds);
    return { kind: 'preflight', status: 200, headers };
  }
  if (!matched) return { kind: 'none' };
  if (policy.exposeHeaders.length > 0) base['access-control-expose-headers'] = policy.exposeHeaders.join(',');
  return { kind: 'actual', responseHeaders: base };
}
