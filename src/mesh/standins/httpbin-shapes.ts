/**
 * The JSON shapes go-httpbin answers with, built from a node:http request:
 * headers as canonical names with arrays of values (Go's http.Header), query
 * args as arrays (url.Values), map keys sorted and two-space indented with a
 * trailing newline (Go's json.Encoder with SetIndent, HTML not escaped), and
 * the request-body fields of its bodyResponse.
 */
import type { IncomingMessage } from 'node:http';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const HTML_TYPE = 'text/html; charset=utf-8';

export type Values = Readonly<Record<string, readonly string[]>>;

/** Go's json.Encoder output for a value whose maps were built with sorted keys. */
export function goJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Go's http.CanonicalHeaderKey: `x-request-id` -> `X-Request-Id`. */
export function canonicalHeaderKey(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((part) => (part.length === 0 ? part : part[0]!.toUpperCase() + part.slice(1)))
    .join('-');
}

function sortedValues(entries: Iterable<readonly [string, string]>): Record<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [k, v] of entries) {
    const list = map.get(k);
    if (list === undefined) map.set(k, [v]);
    else list.push(v);
  }
  const out: Record<string, string[]> = {};
  for (const k of [...map.keys()].sort()) out[k] = map.get(k)!;
  return out;
}

/** The request's headers, Host included, as go-httpbin's `headers` field. */
export function requestHeaders(req: IncomingMessage): Record<string, string[]> {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    pairs.push([canonicalHeaderKey(req.rawHeaders[i]!), req.rawHeaders[i + 1]!]);
  }
  return sortedValues(pairs);
}

/** Query args (or a urlencoded form) as url.Values. */
export function formValues(query: string): Record<string, string[]> {
  return sortedValues(new URLSearchParams(query).entries());
}

export function queryOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** go-httpbin's getClientIP: platform headers, then the first X-Forwarded-For entry, then the peer. */
export function clientIp(req: IncomingMessage): string {
  for (const name of ['fly-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'true-client-ip']) {
    const v = header(req, name);
    if (v !== '') return v;
  }
  const xff = header(req, 'x-forwarded-for');
  if (xff !== '') return xff.split(',')[0]!.trim();
  const remote = req.socket.remoteAddress ?? '';
  return remote.startsWith('::ffff:') ? remote.slice('::ffff:'.length) : remote;
}

/** go-httpbin's getURL: scheme from the X-Forwarded-* headers, host from Host. */
export function requestUrl(req: IncomingMessage): string {
  let scheme = header(req, 'x-forwarded-proto') || header(req, 'x-forwarded-protocol');
  if (scheme === '' && header(req, 'x-forwarded-ssl') === 'on') scheme = 'https';
  if (scheme === '') scheme = 'http';
  return `${scheme}://${header(req, 'host')}${req.url ?? '/'}`;
}

/** The fields of a bodiless answer (noBodyResponse). */
export function noBodyResponse(req: IncomingMessage): Record<string, unknown> {
  return {
    args: formValues(queryOf(req)),
    headers: requestHeaders(req),
    method: req.method ?? '',
    origin: clientIp(req),
    url: requestUrl(req),
  };
}

export type BodyParse =
  | { readonly kind: 'ok'; readonly fields: Record<string, unknown> }
  | { readonly kind: 'bad'; readonly detail: string };

/** The fields of bodyResponse for `body`, parsed by content type as go-httpbin's parseBody does. */
export function bodyResponse(req: IncomingMessage, body: Buffer): BodyParse {
  const fields: Record<string, unknown> = {
    ...noBodyResponse(req),
    data: '',
    files: {},
    form: {},
    json: null,
  };
  if (body.length === 0) return { kind: 'ok', fields };
  fields['data'] = body.toString('utf8');
  const contentType = header(req, 'content-type').split(';')[0]!.trim();
  switch (contentType) {
    case 'text/html':
    case 'text/plain':
      break;
    case 'application/x-www-form-urlencoded':
      fields['form'] = formValues(body.toString('utf8'));
      break;
    case 'multipart/form-data':
      // Parts are not decoded: the raw body stays in `data`.
      break;
    case 'application/json':
      try {
        fields['json'] = JSON.parse(body.toString('utf8'));
      } catch (err) {
        return {
          kind: 'bad',
          detail: `error parsing request body: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      break;
    default:
      fields['data'] = `data:${contentType || 'application/octet-stream'};base64,${base64UrlPadded(body)}`;
  }
  return { kind: 'ok', fields };
}

/** Go's base64.URLEncoding: the URL alphabet, with padding. */
function base64UrlPadded(bytes: Buffer): string {
  const s = bytes.toString('base64url');
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  501: 'Not Implemented',
};

/** go-httpbin's error body: `{status_code, error, detail?}`. */
export function errorBody(status: number, detail?: string): string {
  const body: Record<string, unknown> = {
    status_code: status,
    error: STATUS_TEXT[status] ?? `Status ${status}`,
  };
  if (detail !== undefined) body['detail'] = detail;
  return goJson(body);
}

const GO_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration (`1.5s`, `1m30s`, `250ms`) in ms; `undefined` when it is not one. */
export function parseGoDurationMs(input: string): number | undefined {
  if (input === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(input); m !== null; m = re.exec(input)) {
    total += Number(m[1]) * GO_UNITS_MS[m[2]!]!;
    end = re.lastIndex;
  }
  return end === input.length && end > 0 ? total : undefined;
}

/** go-httpbin's parseDuration: a Go duration, else seconds as a float. */
export function parseDelayMs(input: string): number | undefined {
  const go = parseGoDurationMs(input);
  if (go !== undefined) return go;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(input)) return undefined;
  return Math.round(Number(input) * 1000);
}

export interface WeightedChoice {
  readonly code: number;
  readonly weight: number;
}

/** `200:0.8,500:0.2` (weight optional, default 1) as go-httpbin's parseWeightedChoices reads it. */
export function parseWeightedCodes(raw: string): WeightedChoice[] | string {
  const out: WeightedChoice[] = [];
  for (const pair of raw.split(',')) {
    const [rawCode, rawWeight] = pair.split(':', 2) as [string, string | undefined];
    const weight = rawWeight === undefined ? 1 : Number(rawWeight);
    if (rawWeight !== undefined && (rawWeight.trim() === '' || Number.isNaN(weight)))
      return `invalid weight value: "${rawWeight}"`;
    const code = /^\d+$/.test(rawCode) ? Number(rawCode) : NaN;
    if (Number.isNaN(code)) return `invalid choice value: "${rawCode}"`;
    out.push({ code, weight });
  }
  return out;
}

/** Picks a code with probability proportional to its weight; `random` is in [0, 1). */
export function pickWeighted(choices: readonly WeightedChoice[], random: number): number {
  const total = choices.reduce((sum, c) => sum + c.weight, 0);
  let r = random * total;
  for (const c of choices) {
    if (r < c.weight) return c.code;
    r -= c.weight;
  }
  return choices[choices.length - 1]!.code;
}
