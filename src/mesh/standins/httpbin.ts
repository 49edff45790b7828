/**
 * httpbin, answered with go-httpbin's shapes (the image Istio's httpbin.yaml
 * runs today, docker.io/mccutchen/go-httpbin, listening on 8080). Older
 * manifests run kennethreitz/httpbin (gunicorn on 80) or kong/httpbin with a
 * gunicorn `-b 0.0.0.0:8080` command; those get the same API on their port.
 *
 * Port: go-httpbin's `-port` flag, else env PORT, else 8080; a gunicorn
 * `-b host:port` in the command wins for the Python images. `/delay` and
 * friends are capped by `-max-duration` / MAX_DURATION (default 10 s).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StandinError } from './errors.js';
import { pathOf, readBody, send, type HttpHandler } from './http-serve.js';
import {
  bodyResponse,
  clientIp,
  errorBody,
  formValues,
  goJson,
  HTML_TYPE,
  JSON_TYPE,
  noBodyResponse,
  parseDelayMs,
  parseGoDurationMs,
  parseWeightedCodes,
  pickWeighted,
  queryOf,
  TEXT_TYPE,
} from './httpbin-shapes.js';

/** go-httpbin's defaults (cmd.go, httpbin.go). */
export const GO_HTTPBIN_PORT = 8080;
const DEFAULT_MAX_DURATION_MS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;
/** gunicorn's bind in kennethreitz/httpbin's CMD. */
const PYTHON_HTTPBIN_PORT = 80;
/** The /hostname answer unless go-httpbin runs with -use-real-hostname. */
const DEFAULT_HOSTNAME = 'go-httpbin';

export interface HttpbinConfig {
  readonly port: number;
  readonly maxDurationMs: number;
}

/** The value of a Go-style flag: `-name v`, `--name v`, `-name=v`, `--name=v`. */
function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `-${name}` || a === `--${name}`) return args[i + 1];
    for (const p of [`-${name}=`, `--${name}=`]) if (a.startsWith(p)) return a.slice(p.length);
  }
  return undefined;
}

function parsePort(raw: string, where: string): number {
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65535))
    throw new StandinError('STANDIN_BAD_ARGS', `httpbin: ${where} "${raw}" is not a port`);
  return port;
}

/** Decodes the container's command/args and env as the image would. `repository` picks the image's default port. */
export function httpbinConfig(
  repository: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): HttpbinConfig {
  const gunicornBind = flagValue(args, 'b') ?? flagValue(args, 'bind');
  let port: number;
  const portFlag = flagValue(args, 'port');
  if (portFlag !== undefined) port = parsePort(portFlag, '-port');
  else if (gunicornBind !== undefined)
    port = parsePort(gunicornBind.slice(gunicornBind.lastIndexOf(':') + 1), 'gunicorn -b');
  else if (env['PORT'] !== undefined && env['PORT'] !== '') port = parsePort(env['PORT'], 'env PORT');
  else port = repository.endsWith('mccutchen/go-httpbin') ? GO_HTTPBIN_PORT : PYTHON_HTTPBIN_PORT;

  const rawMax = flagValue(args, 'max-duration') ?? env['MAX_DURATION'];
  let maxDurationMs = DEFAULT_MAX_DURATION_MS;
  if (rawMax !== undefined && rawMax !== '') {
    const parsed = parseGoDurationMs(rawMax);
    if (parsed === undefined)
      throw new StandinError(
        'STANDIN_BAD_ARGS',
        `httpbin: max duration "${rawMax}" is not a Go duration (e.g. 600s)`,
      );
    maxDurationMs = parsed;
  }
  return { port, maxDurationMs };
}

type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
  rest: string,
) => Promise<void> | void;

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON_TYPE, goJson(value), headers);
}

function fail(res: ServerResponse, status: number, detail?: string): void {
  send(res, status, JSON_TYPE, errorBody(status, detail));
}

/** go-httpbin's special status answers (headers and bodies it adds for some codes). */
function writeStatus(res: ServerResponse, code: number): void {
  const headers: Record<string, string> = {};
  let body = '';
  if ([301, 302, 303, 305, 307].includes(code)) headers['location'] = '/redirect/1';
  if (code === 401) headers['www-authenticate'] = 'Basic realm="Fake Realm"';
  if (code === 407) headers['proxy-authenticate'] = 'Basic realm="Fake Realm"';
  if (code === 418) {
    headers['x-more-info'] = 'http://tools.ietf.org/html/rfc2324';
    body = "I'm a teapot!";
  }
  send(res, code, TEXT_TYPE, body, headers);
}

function parseStatus(raw: string, min: number, max: number): number | string {
  const code = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(code)) return `invalid status code: "${raw}"`;
  if (code < min || code > max) return `invalid status code: ${code} not in range [${min}, ${max}]`;
  return code;
}

async function withBody(
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string> = {},
): Promise<void> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) return fail(res, 400, 'error parsing request body: http: request body too large');
  const parsed = bodyResponse(req, body);
  if (parsed.kind === 'bad') return fail(res, 400, parsed.detail);
  json(res, 200, parsed.fields, headers);
}

/** Waits `ms` unless `signal` aborts first; the timer never outlives either. */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const GET_ONLY = new Set(['GET', 'HEAD']);

function routes(config: HttpbinConfig): ReadonlyMap<string, Route> {
  const onlyGet =
    (route: Route): Route =>
    (req, res, signal, rest) =>
      GET_ONLY.has(req.method ?? '') ? route(req, res, signal, rest) : fail(res, 405);
  const onlyMethod =
    (method: string): Route =>
    (req, res) =>
      req.method === method ? withBody(req, res) : fail(res, 405);
  return new Map<string, Route>([
    ['/', onlyGet((_req, res) => send(res, 200, HTML_TYPE, indexPage()))],
    ['/get', onlyGet((req, res) => json(res, 200, noBodyResponse(req)))],
    ['/post', onlyMethod('POST')],
    ['/put', onlyMethod('PUT')],
    ['/patch', onlyMethod('PATCH')],
    ['/delete', onlyMethod('DELETE')],
    [
      '/anything',
      (req, res) => (req.method === 'HEAD' ? json(res, 200, noBodyResponse(req)) : withBody(req, res)),
    ],
    ['/headers', (req, res) => json(res, 200, { headers: noBodyResponse(req)['headers'] })],
    ['/ip', (req, res) => json(res, 200, { origin: clientIp(req) })],
    ['/user-agent', (req, res) => json(res, 200, { 'user-agent': req.headers['user-agent'] ?? '' })],
    ['/uuid', (_req, res) => json(res, 200, { uuid: randomUUID() })],
    ['/hostname', (_req, res) => json(res, 200, { hostname: DEFAULT_HOSTNAME })],
    ['/robots.txt', (_req, res) => send(res, 200, TEXT_TYPE, 'User-agent: *\nDisallow: /deny\n')],
    [
      '/status/',
      (_req, res, _signal, rest) => {
        if (!rest.includes(',')) {
          const code = parseStatus(rest, 100, 599);
          return typeof code === 'string' ? fail(res, 400, code) : writeStatus(res, code);
        }
        const choices = parseWeightedCodes(rest);
        if (typeof choices === 'string') return fail(res, 400, choices);
        writeStatus(res, pickWeighted(choices, Math.random()));
      },
    ],
    [
      '/delay/',
      async (req, res, signal, rest) => {
        const ms = parseDelayMs(rest);
        if (ms === undefined) return fail(res, 400, `invalid duration: "${rest}"`);
        if (ms > config.maxDurationMs)
          return fail(res, 400, `invalid duration: duration ${ms}ms longer than ${config.maxDurationMs}ms`);
        if (ms < 0) return fail(res, 400, `invalid duration: duration ${ms}ms shorter than 0s`);
        if (!(await wait(ms, signal))) return;
        await withBody(req, res, {
          'server-timing': `initial_delay;dur=${ms.toFixed(2)};desc="initial delay"`,
        });
      },
    ],
    [
      '/response-headers',
      (req, res) => {
        const args = formValues(queryOf(req));
        if (!Object.keys(args).some((k) => k.toLowerCase() === 'content-type'))
          args['Content-Type'] = [JSON_TYPE];
        const sorted: Record<string, string[]> = {};
        for (const k of Object.keys(args).sort()) sorted[k] = args[k]!;
        const body = Buffer.from(goJson(sorted));
        const headers: Record<string, string[]> = {};
        for (const [k, vs] of Object.entries(sorted))
          headers[k.toLowerCase()] = [...(headers[k.toLowerCase()] ?? []), ...vs];
        headers['content-length'] = [String(body.length)];
        res.writeHead(200, headers);
        res.end(body);
      },
    ],
    [
      '/redirect-to',
      (req, res) => {
        const q = new URLSearchParams(queryOf(req));
        const target = q.get('url');
        if (target === null || target === '') return fail(res, 400, 'missing required query parameter: url');
        let status = 302;
        const raw = q.get('status_code');
        if (raw !== null && raw !== '') {
          const parsed = parseStatus(raw, 300, 399);
          if (typeof parsed === 'string') return fail(res, 400, parsed);
          status = parsed;
        }
        res.writeHead(status, { location: target, 'content-length': '0' });
        res.end();
      },
    ],
    [
      '/cookies',
      (req, res) => {
        const cookies: Record<string, string> = {};
        for (const part of (req.headers.cookie ?? '').split(';')) {
          const eq = part.indexOf('=');
          if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
        }
        json(res, 200, cookies);
      },
    ],
  ]);
}

/** A short index in place of go-httpbin's long one. */
function indexPage(): string {
  const endpoints = [
    '/get',
    '/anything',
    '/headers',
    '/ip',
    '/user-agent',
    '/uuid',
    '/status/{codes}',
    '/delay/{duration}',
    '/response-headers',
    '/redirect-to',
    '/cookies',
    '/hostname',
  ];
  return `<!doctype html>\n<html><head><title>httpbin (ambit stand-in)</title></head><body><h1>httpbin</h1><ul>${endpoints.map((e) => `<li><code>${e}</code></li>`).join('')}</ul></body></html>\n`;
}

/** CORS headers go-httpbin's preflight middleware puts on every answer. */
function cors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('access-control-allow-origin', origin ?? '*');
  res.setHeader('access-control-allow-credentials', 'true');
}

export function httpbinHandler(config: HttpbinConfig): HttpHandler {
  const table = routes(config);
  return async (req, res, signal) => {
    cors(req, res);
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS');
      res.setHeader('access-control-max-age', '3600');
      const asked = req.headers['access-control-request-headers'];
      if (asked !== undefined) res.setHeader('access-control-allow-headers', asked);
      return send(res, 200, TEXT_TYPE, '');
    }
    const path = pathOf(req);
    const exact = table.get(path);
    if (exact !== undefined) return exact(req, res, signal, '');
    if (path.startsWith('/anything/')) return table.get('/anything')!(req, res, signal, '');
    for (const prefix of ['/status/', '/delay/']) {
      if (path.startsWith(prefix))
        return table.get(prefix)!(req, res, signal, decodeURIComponent(path.slice(prefix.length)));
    }
    fail(res, 404);
  };
}
