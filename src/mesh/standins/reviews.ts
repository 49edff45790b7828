/**
 * reviews (istio/examples-bookinfo-reviews-v1, -v2, -v3): a Liberty server
 * on 9080. `GET /reviews/<id>` answers two fixed reviews with the pod's name
 * (HOSTNAME) and CLUSTER_NAME; with ratings enabled it first asks
 * `http://<RATINGS_HOSTNAME>[.<SERVICES_DOMAIN>]:<RATINGS_SERVICE_PORT>/ratings/<id>`
 * (default ratings:9080) and adds `rating: {stars, color}` per reviewer, or
 * `rating: {error: "Ratings service is currently unavailable"}` when that
 * call fails. `GET /health` answers `{"status": "Reviews is healthy"}`.
 *
 * The images differ only in build args: v1 ENABLE_RATINGS=false; v2 true
 * with STAR_COLOR=black; v3 true with red. Container env overrides them, as
 * it overrides the image's ENV. The ratings call times out after 10 s with
 * black stars and 2.5 s otherwise, as the real client is configured.
 */
import { TRACE_HEADERS } from './trace-headers.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { httpGet, okJson, pickHeaders } from './http-call.js';
import { pathOf, send, type HttpHandler } from './http-serve.js';

const JSON_TYPE = 'application/json';

/** The headers the real service copies from its request to the ratings call. */
export const REVIEWS_PROPAGATED_HEADERS: readonly string[] = [...TRACE_HEADERS, 'end-user', 'user-agent', 'cookie', 'authorization', 'jwt'];

const BLACK_TIMEOUT_MS = 10_000;
const OTHER_TIMEOUT_MS = 2_500;

export interface ReviewsConfig {
  readonly ratingsEnabled: boolean;
  readonly starColor: string;
  /** `http://host[.domain]:port/ratings` */
  readonly ratingsUrl: string;
  /** HOSTNAME, or "null" as Java prints an unset one. */
  readonly podName: string;
  readonly clusterName: string;
  readonly ratingsTimeoutMs: number;
}

/** The image's build-time env per version (reviews-wlpcfg Dockerfile build args). */
const IMAGE_ENV: Readonly<Record<string, { readonly enableRatings: string; readonly starColor: string }>> = {
  v1: { enableRatings: 'false', starColor: 'black' },
  v2: { enableRatings: 'true', starColor: 'black' },
  v3: { enableRatings: 'true', starColor: 'red' },
};

export function reviewsConfig(
  env: Readonly<Record<string, string>>,
  imageVersion: string | undefined,
): ReviewsConfig {
  const image = IMAGE_ENV[imageVersion ?? 'v1'] ?? IMAGE_ENV['v1']!;
  const starColor = env['STAR_COLOR'] ?? image.starColor;
  const domain = env['SERVICES_DOMAIN'] === undefined ? '' : `.${env['SERVICES_DOMAIN']}`;
  const host = env['RATINGS_HOSTNAME'] ?? 'ratings';
  const port = env['RATINGS_SERVICE_PORT'] ?? '9080';
  return {
    // Java's Boolean.valueOf: true only for "true", any case.
    ratingsEnabled: (env['ENABLE_RATINGS'] ?? image.enableRatings).toLowerCase() === 'true',
    starColor,
    ratingsUrl: `http://${host}${domain}:${port}/ratings`,
    podName: env['HOSTNAME'] ?? 'null',
    clusterName: env['CLUSTER_NAME'] ?? 'null',
    ratingsTimeoutMs: starColor === 'black' ? BLACK_TIMEOUT_MS : OTHER_TIMEOUT_MS,
  };
}

const REVIEWS = [
  {
    reviewer: 'Reviewer1',
    text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  },
  {
    reviewer: 'Reviewer2',
    text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
  },
] as const;

/** Stars per reviewer from a ratings answer; absent when the call failed or the reviewer has none. */
type Stars = Readonly<Record<string, number>>;

async function fetchStars(
  config: ReviewsConfig,
  id: number,
  incoming: IncomingHttpHeaders,
  signal: AbortSignal,
): Promise<Stars> {
  const headers = { accept: 'application/json', ...pickHeaders(incoming, REVIEWS_PROPAGATED_HEADERS) };
  const result = await httpGet(`${config.ratingsUrl}/${id}`, headers, config.ratingsTimeoutMs, signal);
  const ratings = okJson(result)?.['ratings'];
  const stars: Record<string, number> = {};
  if (typeof ratings === 'object' && ratings !== null) {
    for (const [k, v] of Object.entries(ratings))
      if (typeof v === 'number' && Number.isInteger(v)) stars[k] = v;
  }
  return stars;
}

/** The answer's body, field order as the real service writes it; `id` is a string there. */
export function reviewsBody(
  config: ReviewsConfig,
  id: number,
  stars: Stars | undefined,
): Record<string, unknown> {
  return {
    id: String(id),
    podname: config.podName,
    clustername: config.clusterName,
    reviews: REVIEWS.map((r) => {
      if (!config.ratingsEnabled || stars === undefined) return { ...r };
      const n = stars[r.reviewer];
      return {
        ...r,
        rating:
          n === undefined
            ? { error: 'Ratings service is currently unavailable' }
            : { stars: n, color: config.starColor },
      };
    }),
  };
}

/** The JAX-RS `int` path parameter: an optional sign and digits in int range, else the route does not match (404). */
function intParam(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

export function reviewsHandler(config: ReviewsConfig): HttpHandler {
  return async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => {
    const path = pathOf(req);
    if (req.method === 'GET' && path === '/health')
      return send(res, 200, JSON_TYPE, '{"status": "Reviews is healthy"}');
    const m = /^\/reviews\/([^/]+)$/.exec(path);
    const id = m === null ? undefined : intParam(decodeURIComponent(m[1]!));
    if (req.method !== 'GET' || id === undefined) return send(res, 404, 'text/plain', 'Not Found');
    const stars = config.ratingsEnabled ? await fetchStars(config, id, req.headers, signal) : undefined;
    if (signal.aborted) return;
    send(res, 200, JSON_TYPE, JSON.stringify(reviewsBody(config, id, stars)));
  };
}
