/**
 * ratings (istio/examples-bookinfo-ratings-v1): a node http server on 9080.
 * `GET /ratings/<id>` answers `{"id":N,"ratings":{"Reviewer1":5,"Reviewer2":4}}`
 * (or what a `POST /ratings/<id>` stored for that id, v1 keeps them in
 * memory); a non-numeric id is a 400. `GET /health` answers
 * `{"status":"Ratings is healthy"}`.
 *
 * SERVICE_VERSION=v2 (the ratings-v2 image) reads from MongoDB or MySQL,
 * which the local mesh does not run: GET answers the real app's
 * "could not connect to ratings database" 500 and POST its 501.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send, type HttpHandler } from './http-serve.js';

const JSON_TYPE = 'application/json';
const MAX_BODY_BYTES = 64 * 1024;
/** The real dispatcher's patterns: `/ratings/` then digits, possibly none. */
const RATINGS_PATH = /^\/ratings\/[0-9]*/;

export interface RatingsConfig {
  readonly databaseBacked: boolean;
}

export function ratingsConfig(
  env: Readonly<Record<string, string>>,
  imageVersion: string | undefined,
): RatingsConfig {
  return { databaseBacked: (env['SERVICE_VERSION'] ?? imageVersion) === 'v2' };
}

function answer(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON_TYPE, JSON.stringify(value));
}

/** The real app's id: JavaScript parseInt of the last '/'-segment of the URL (query included). */
function productIdOf(url: string): number {
  return parseInt(url.split('/').pop() ?? '', 10);
}

export function ratingsHandler(config: RatingsConfig): HttpHandler {
  const stored = new Map<number, unknown>();
  const local = (id: number): unknown => stored.get(id) ?? { id, ratings: { Reviewer1: 5, Reviewer2: 4 } };
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/health') return answer(res, 200, { status: 'Ratings is healthy' });
    if (!RATINGS_PATH.test(url) || (req.method !== 'GET' && req.method !== 'POST')) {
      return send(res, 404, 'text/plain', 'Page Not Found');
    }
    const id = productIdOf(url);
    if (Number.isNaN(id)) return answer(res, 400, { error: 'please provide numeric product ID' });
    if (req.method === 'GET') {
      if (config.databaseBacked) return answer(res, 500, { error: 'could not connect to ratings database' });
      return answer(res, 200, local(id));
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    let ratings: unknown;
    try {
      ratings = JSON.parse(body?.toString('utf8') ?? '');
    } catch {
      return answer(res, 400, { error: 'please provide valid ratings JSON' });
    }
    if (config.databaseBacked)
      return answer(res, 501, { error: 'Post not implemented for database backed ratings' });
    stored.set(id, { id, ratings });
    answer(res, 200, local(id));
  };
}
