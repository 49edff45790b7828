import assert from 'node:assert/strict';
import { startStandin, type RunningStandin } from '../../../../src/mesh/standins/serve.js';
import {
  captureServer,
  closedPort,
  getJson,
  request,
  type Capture,
} from '../../../support/standin-client.js';

const DETAILS = 'docker.io/istio/examples-bookinfo-details-v1:1.20.1';
const RATINGS = 'docker.io/istio/examples-bookinfo-ratings-v1:1.20.1';
const reviewsImage = (v: string): string => `docker.io/istio/examples-bookinfo-reviews-${v}:1.20.1`;

async function start(image: string, env: Record<string, string> = {}): Promise<RunningStandin> {
  return startStandin({ image, args: [], env, ports: [9080], listenHost: '127.0.0.1', portOverride: 0 });
}

describe('mesh/standins bookinfo backends', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
  });
  const track = <T extends { close(): Promise<void> }>(o: T): T => {
    open.push(o);
    return o;
  };

  it('details answers the built-in book with the asked id, a 400 for a non-numeric one, and /health', async () => {
    const port = track(await start(DETAILS)).ports[0]!;
    const a = await request(port, '/details/7');
    assert.equal(a.headers['content-type'], 'application/json');
    assert.equal(
      a.body,
      '{"id":7,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}',
    );
    assert.deepEqual(await getJson(port, '/details/abc'), {
      status: 400,
      json: { error: 'please provide numeric product id' },
    });
    assert.deepEqual(await getJson(port, '/health'), { status: 200, json: { status: 'Details is healthy' } });
  });

  it('ratings answers fixed stars, stores a POSTed rating, and 400s a non-numeric id', async () => {
    const port = track(await start(RATINGS)).ports[0]!;
    assert.deepEqual(await getJson(port, '/ratings/0'), {
      status: 200,
      json: { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } },
    });
    const posted = await request(port, '/ratings/3', { method: 'POST', body: '{"Reviewer1":1}' });
    assert.deepEqual(JSON.parse(posted.body), { id: 3, ratings: { Reviewer1: 1 } });
    assert.deepEqual((await getJson(port, '/ratings/3')).json, { id: 3, ratings: { Reviewer1: 1 } });
    assert.equal((await getJson(port, '/ratings/x')).status, 400);
    assert.deepEqual((await getJson(port, '/health')).json, { status: 'Ratings is healthy' });
  });

  it('reviews v1 answers two reviews with the pod name and does not call ratings', async () => {
    const ratings = track(await captureServer((_n, _req, res) => res.end('{}')));
    const env = {
      HOSTNAME: 'reviews-v1-abc',
      RATINGS_HOSTNAME: '127.0.0.1',
      RATINGS_SERVICE_PORT: String(ratings.port),
    };
    const port = track(await start(reviewsImage('v1'), env)).ports[0]!;
    const { status, json } = await getJson(port, '/reviews/0');
    assert.equal(status, 200);
    assert.equal(json['id'], '0');
    assert.equal(json['podname'], 'reviews-v1-abc');
    assert.equal(json['clustername'], 'null');
    const list = json['reviews'] as Record<string, unknown>[];
    assert.deepEqual(
      list.map((r) => r['reviewer']),
      ['Reviewer1', 'Reviewer2'],
    );
    assert.ok(list.every((r) => !('rating' in r)));
    assert.equal(ratings.seen.length, 0);
    assert.deepEqual((await getJson(port, '/health')).json, { status: 'Reviews is healthy' });
  });

  for (const c of [
    { version: 'v2', color: 'black' },
    { version: 'v3', color: 'red' },
  ]) {
    it(`reviews ${c.version} adds ${c.color} stars from ratings`, async () => {
      const ratings = track(await start(RATINGS));
      const env = {
        HOSTNAME: 'r',
        RATINGS_HOSTNAME: '127.0.0.1',
        RATINGS_SERVICE_PORT: String(ratings.ports[0]),
      };
      const port = track(await start(reviewsImage(c.version), env)).ports[0]!;
      const list = (await getJson(port, '/reviews/0')).json['reviews'] as Record<string, unknown>[];
      assert.deepEqual(
        list.map((r) => r['rating']),
        [
          { stars: 5, color: c.color },
          { stars: 4, color: c.color },
        ],
      );
    });
  }

  it('reviews honours ENABLE_RATINGS and STAR_COLOR from the container env', async () => {
    const ratings = track(await start(RATINGS));
    const env = {
      HOSTNAME: 'r',
      ENABLE_RATINGS: 'TRUE',
      STAR_COLOR: 'green',
      RATINGS_HOSTNAME: '127.0.0.1',
      RATINGS_SERVICE_PORT: String(ratings.ports[0]),
    };
    const port = track(await start(reviewsImage('v1'), env)).ports[0]!;
    const list = (await getJson(port, '/reviews/0')).json['reviews'] as Record<string, unknown>[];
    assert.deepEqual(list[0]!['rating'], { stars: 5, color: 'green' });
  });

  it('reviews answers the unavailable error per reviewer when ratings is down', async () => {
    const env = {
      HOSTNAME: 'r',
      RATINGS_HOSTNAME: '127.0.0.1',
      RATINGS_SERVICE_PORT: String(await closedPort()),
    };
    const port = track(await start(reviewsImage('v3'), env)).ports[0]!;
    const { status, json } = await getJson(port, '/reviews/0');
    assert.equal(status, 200);
    assert.deepEqual(
      (json['reviews'] as Record<string, unknown>[]).map((r) => r['rating']),
      [
        { error: 'Ratings service is currently unavailable' },
        { error: 'Ratings service is currently unavailable' },
      ],
    );
  });

  it('reviews propagates the tracing, user and context headers to ratings', async () => {
    const ratings: Capture = track(
      await captureServer((_n, _req, res) => res.end('{"id":0,"ratings":{"Reviewer1":1,"Reviewer2":2}}')),
    );
    const env = { HOSTNAME: 'r', RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(ratings.port) };
    const port = track(await start(reviewsImage('v2'), env)).ports[0]!;
    const sent = {
      'x-request-id': 'rid',
      traceparent: '00-abc-def-01',
      'x-b3-traceid': 'tid',
      'end-user': 'jason',
      cookie: 'session=x',
      'x-not-propagated': 'no',
    };
    await getJson(port, '/reviews/0', sent);
    const got = ratings.seen[0]!;
    assert.equal(got.path, '/ratings/0');
    for (const k of ['x-request-id', 'traceparent', 'x-b3-traceid', 'end-user', 'cookie'] as const)
      assert.equal(got.headers[k], sent[k]);
    assert.equal(got.headers['x-not-propagated'], undefined);
  });
});
