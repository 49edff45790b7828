/**
 * productpage (istio/examples-bookinfo-productpage-v1): the Flask front of
 * Bookinfo on 9080. It calls `http://<DETAILS_HOSTNAME>[.<SERVICES_DOMAIN>]:9080/details/<id>`
 * and the same for reviews and ratings (hostnames default to the service
 * names; the port is fixed), each with a 3 s timeout, reviews tried twice —
 * the "bug introduced explicitly" that the fault-injection task relies on.
 * A failed call becomes the page's error text, and the API answers the
 * backend's status (500 when there was none) with the real error JSON.
 *
 * Login keeps the user in the session cookie and sends `end-user: <user>`
 * to details and reviews; the real tracing and context headers are copied
 * from the request to every backend call.
 */
import { TRACE_HEADERS } from './trace-headers.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { httpGet, pickHeaders, type CallResult } from './http-call.js';
import { pathOf, readBody, send, type HttpHandler } from './http-serve.js';
import { indexHtml, productPageHtml, type Fetched } from './productpage-page.js';
import { clearSessionCookie, sessionCookie, sessionUser } from './productpage-session.js';

export type Upstream = 'details' | 'reviews' | 'ratings';

/** The headers the real productpage copies to details and reviews (its list plus the b3 ones its tracer re-injects). */
export const PRODUCTPAGE_PROPAGATED_HEADERS: readonly string[] = [...TRACE_HEADERS, 'user-agent', 'cookie', 'authorization', 'jwt'];

/** requests.get(..., timeout=3.0) on every backend call. */
export const BACKEND_TIMEOUT_MS = 3_000;
/** getProductReviews loops twice before it gives up. */
export const REVIEWS_ATTEMPTS = 2;
const UPSTREAM_PORT = 9080;

const FLASK_HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json';

export interface Product {
  readonly id: number;
  readonly title: string;
  readonly descriptionHtml: string;
}

const PRODUCTS: readonly Product[] = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

const UNAVAILABLE: Readonly<Record<Upstream, string>> = {
  details: 'Sorry, product details are currently unavailable for this book.',
  reviews: 'Sorry, product reviews are currently unavailable for this book.',
  ratings: 'Sorry, product ratings are currently unavailable for this book.',
};

export interface ProductpageConfig {
  /** Base URLs, `http://details:9080` and so on. */
  readonly upstreams: Readonly<Record<Upstream, string>>;
  /** FLOOD_FACTOR: extra reviews calls per page view, answers ignored (rate-limit demos). */
  readonly floodFactor: number;
}

export function productpageConfig(
  env: Readonly<Record<string, string>>,
  overrides: Readonly<Partial<Record<Upstream, string>>>,
): ProductpageConfig {
  const domain = env['SERVICES_DOMAIN'] === undefined ? '' : `.${env['SERVICES_DOMAIN']}`;
  const url = (name: Upstream): string =>
    overrides[name] ?? `http://${env[`${name.toUpperCase()}_HOSTNAME`] ?? name}${domain}:${UPSTREAM_PORT}`;
  const flood = Number(env['FLOOD_FACTOR'] ?? '0');
  return {
    upstreams: { details: url('details'), reviews: url('reviews'), ratings: url('ratings') },
    floodFactor: Number.isInteger(flood) && flood > 0 ? flood : 0,
  };
}

/** Python's json.dumps layout (", " and ": " separators), for answers that must read like the real ones. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value ?? null).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Decodes a 200 answer; anything else is the upstream's status (500 without one) and the real error. */
function outcome(name: Upstream, result: CallResult): Fetched {
  if (result.kind === 'answered' && result.status === 200) {
    try {
      const body: unknown = JSON.parse(result.body.toString('utf8'));
      if (typeof body === 'object' && body !== null && !Array.isArray(body))
        return { status: 200, body: body as Record<string, unknown> };
    } catch {
      // An unreadable 200 is an unavailable backend.
    }
    return { status: 500, body: { error: UNAVAILABLE[name] } };
  }
  return {
    status: result.kind === 'answered' && result.status !== 0 ? result.status : 500,
    body: { error: UNAVAILABLE[name] },
  };
}

export function productpageHandler(config: ProductpageConfig): HttpHandler {
  const call = async (
    name: Upstream,
    id: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Fetched> => {
    const url = `${config.upstreams[name]}/${name}/${encodeURIComponent(id)}`;
    const attempts = name === 'reviews' ? REVIEWS_ATTEMPTS : 1;
    let last: Fetched = { status: 500, body: { error: UNAVAILABLE[name] } };
    for (let i = 0; i < attempts && !signal.aborted; i++) {
      last = outcome(name, await httpGet(url, headers, BACKEND_TIMEOUT_MS, signal));
      if (last.status === 200) break;
    }
    return last;
  };

  const forwardHeaders = (incoming: IncomingHttpHeaders): Record<string, string> => {
    const headers = pickHeaders(incoming, PRODUCTPAGE_PROPAGATED_HEADERS);
    const user = sessionUser(incoming.cookie);
    if (user !== '') headers['end-user'] = user;
    return headers;
  };

  const api = async (
    res: ServerResponse,
    name: Upstream,
    id: string,
    incoming: IncomingHttpHeaders,
    signal: AbortSignal,
  ): Promise<void> => {
    const fetched = await call(name, id, forwardHeaders(incoming), signal);
    if (!signal.aborted) send(res, fetched.status, JSON_TYPE, pythonJson(fetched.body));
  };

  const page = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> => {
    const headers = forwardHeaders(req.headers);
    const product = PRODUCTS[0]!;
    const details = await call('details', String(product.id), headers, signal);
    if (config.floodFactor > 0) {
      await Promise.all(
        Array.from({ length: config.floodFactor }, () =>
          call('reviews', String(product.id), headers, signal),
        ),
      );
    }
    const reviews = await call('reviews', String(product.id), headers, signal);
    if (!signal.aborted)
      send(res, 200, FLASK_HTML, productPageHtml(product, details, reviews, sessionUser(req.headers.cookie)));
  };

  const redirectBack = (req: IncomingMessage, res: ServerResponse, cookie: string): void => {
    // Flask's redirect(request.referrer); without a Referer the page is the sensible target.
    const target = req.headers.referer ?? '/productpage';
    send(res, 302, FLASK_HTML, `<a href="${encodeURI(target)}">redirect</a>\n`, {
      location: target,
      'set-cookie': cookie,
    });
  };

  return async (req, res, signal) => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path === '/login') {
      if (method !== 'POST')
        return send(res, 405, FLASK_HTML, 'Method Not Allowed\n', { allow: 'OPTIONS, POST' });
      const body = (await readBody(req, 64 * 1024)) ?? Buffer.alloc(0);
      const query = (req.url ?? '').includes('?')
        ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1)
        : '';
      // request.values: query args first, then the form.
      const user =
        new URLSearchParams(query).get('username') ??
        new URLSearchParams(body.toString('utf8')).get('username') ??
        '';
      return redirectBack(req, res, user === '' ? clearSessionCookie() : sessionCookie(user));
    }
    if (method !== 'GET' && method !== 'HEAD')
      return send(res, 405, FLASK_HTML, 'Method Not Allowed\n', { allow: 'GET, HEAD, OPTIONS' });
    if (path === '/logout') return redirectBack(req, res, clearSessionCookie());
    if (path === '/' || path === '/index.html')
      return send(res, 200, FLASK_HTML, indexHtml(serviceTree(config)));
    if (path === '/health') return send(res, 200, FLASK_HTML, 'Product page is healthy');
    if (path === '/productpage') return page(req, res, signal);
    if (path === '/api/v1/products') return send(res, 200, JSON_TYPE, pythonJson(PRODUCTS));
    const m = /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/.exec(path);
    if (m !== null)
      return api(
        res,
        (m[2] as Upstream | undefined) ?? 'details',
        decodeURIComponent(m[1]!),
        req.headers,
        signal,
      );
    send(res, 404, FLASK_HTML, 'Not Found\n');
  };
}

/** The service tree the index shows (the real one's `productpage` dict). */
function serviceTree(config: ProductpageConfig): unknown {
  const node = (name: Upstream, children: unknown[]): unknown => ({
    name: config.upstreams[name],
    endpoint: name,
    children,
  });
  return {
    name: config.upstreams.details,
    endpoint: 'details',
    children: [node('details', []), node('reviews', [node('ratings', [])])],
  };
}
