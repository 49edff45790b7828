import assert from 'node:assert/strict';
import { productpageConfig } from '../../../../src/mesh/standins/productpage.js';
import { startStandin, type RunningStandin } from '../../../../src/mesh/standins/serve.js';
import { captureServer, closedPort, request, type Capture } from '../../../support/standin-client.js';

const PRODUCTPAGE = 'docker.io/istio/examples-bookinfo-productpage-v1:1.20.1';
const loopback = (port: number): string => `http://127.0.0.1:${port}`;

async function bookinfo(version: string, env: Record<string, string> = {}): Promise<RunningStandin[]> {
  const opts = { args: [], ports: [9080], listenHost: '127.0.0.1', portOverride: 0 };
  const ratings = await startStandin({ ...opts, image: 'istio/examples-bookinfo-ratings-v1', env: {} });
  const details = await startStandin({ ...opts, image: 'istio/examples-bookinfo-details-v1', env: {} });
  const reviews = await startStandin({
    ...opts,
    image: `istio/examples-bookinfo-reviews-${version}`,
    env: {
      HOSTNAME: `reviews-${version}-pod`,
      RATINGS_HOSTNAME: '127.0.0.1',
      RATINGS_SERVICE_PORT: String(ratings.ports[0]),
    },
  });
  const page = await startStandin({
    ...opts,
    image: PRODUCTPAGE,
    env,
    upstreamOverrides: {
      details: loopback(details.ports[0]!),
      reviews: loopback(reviews.ports[0]!),
      ratings: loopback(ratings.ports[0]!),
    },
  });
  return [page, reviews, details, ratings];
}

describe('mesh/standins productpage', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
  });
  const track = <T extends { close(): Promise<void> }>(...o: T[]): T[] => {
    open.push(...o);
    return o;
  };

  it('builds backend URLs from SERVICES_DOMAIN and the *_HOSTNAME variables, port 9080', () => {
    assert.deepEqual(productpageConfig({}, {}).upstreams, {
      details: 'http://details:9080',
      reviews: 'http://reviews:9080',
      ratings: 'http://ratings:9080',
    });
    const c = productpageConfig(
      { SERVICES_DOMAIN: 'bookinfo.svc.cluster.local', REVIEWS_HOSTNAME: 'rev' },
      {},
    );
    assert.equal(c.upstreams.reviews, 'http://rev.bookinfo.svc.cluster.local:9080');
    assert.equal(c.upstreams.details, 'http://details.bookinfo.svc.cluster.local:9080');
  });

  for (const c of [
    { version: 'v1', stars: 0, color: undefined },
    { version: 'v2', stars: 9, color: 'black' },
    { version: 'v3', stars: 9, color: 'red' },
  ]) {
    it(`renders details and reviews ${c.version} with ${c.color ?? 'no'} stars and the reviews pod name`, async () => {
      const [page] = track(...(await bookinfo(c.version)));
      const a = await request(page!.ports[0]!, '/productpage');
      assert.equal(a.status, 200);
      assert.match(a.body, /The Comedy of Errors/);
      assert.match(a.body, /<td>1234567890<\/td><td>PublisherA<\/td>/);
      assert.match(a.body, new RegExp(`Reviews served by: reviews-${c.version}-pod`));
      assert.equal(a.body.match(/star-filled/g)?.length ?? 0, c.stars);
      if (c.color !== undefined) assert.match(a.body, new RegExp(`text-${c.color}-500`));
    });
  }

  it('shows the real error texts when details and reviews are down', async () => {
    const down = loopback(await closedPort());
    const [page] = track(
      await startStandin({
        image: PRODUCTPAGE,
        args: [],
        env: {},
        ports: [],
        listenHost: '127.0.0.1',
        portOverride: 0,
        upstreamOverrides: { details: down, reviews: down },
      }),
    );
    const a = await request(page!.ports[0]!, '/productpage');
    assert.equal(a.status, 200);
    assert.match(a.body, /Error fetching product details/);
    assert.match(a.body, /Sorry, product details are currently unavailable for this book\./);
    assert.match(a.body, /Error fetching product reviews/);
    const api = await request(page!.ports[0]!, '/api/v1/products/0/reviews');
    assert.equal(api.status, 500);
    assert.equal(api.body, '{"error": "Sorry, product reviews are currently unavailable for this book."}');
  });

  it('tries reviews twice and keeps the second answer', async () => {
    const reviews: Capture = track(
      await captureServer((n, _req, res) => {
        res.statusCode = n === 1 ? 503 : 200;
        res.end(n === 1 ? 'no' : '{"id": "0", "podname": "second", "clustername": "null", "reviews": []}');
      }),
    )[0]!;
    const details: Capture = track(
      await captureServer((_n, _req, res) => {
        res.statusCode = 503;
        res.end();
      }),
    )[0]!;
    const [page] = track(
      await startStandin({
        image: PRODUCTPAGE,
        args: [],
        env: {},
        ports: [],
        listenHost: '127.0.0.1',
        portOverride: 0,
        upstreamOverrides: { details: loopback(details.port), reviews: loopback(reviews.port) },
      }),
    );
    const api = await request(page!.ports[0]!, '/api/v1/products/0/reviews');
    assert.equal(api.status, 200);
    assert.equal(JSON.parse(api.body).podname, 'second');
    assert.equal(reviews.seen.length, 2);
    const det = await request(page!.ports[0]!, '/api/v1/products/0');
    assert.equal(det.status, 503, 'details is tried once and its status passed on');
    assert.equal(details.seen.length, 1);
  });

  it('gives up on a backend that does not answer within 3 s', async () => {
    const hung: Capture = track(await captureServer(() => undefined))[0]!;
    const [page] = track(
      await startStandin({
        image: PRODUCTPAGE,
        args: [],
        env: {},
        ports: [],
        listenHost: '127.0.0.1',
        portOverride: 0,
        upstreamOverrides: { details: loopback(hung.port) },
      }),
    );
    const started = performance.now();
    const a = await request(page!.ports[0]!, '/api/v1/products/0');
    const tookMs = performance.now() - started;
    assert.equal(a.status, 500);
    assert.ok(tookMs >= 2900 && tookMs < 6000, `took ${tookMs} ms`);
  });

  it('login sets the session cookie, sends end-user and the trace headers, logout clears it', async () => {
    const reviews: Capture = track(
      await captureServer((_n, _req, res) =>
        res.end('{"id": "0", "podname": "p", "clustername": "null", "reviews": []}'),
      ),
    )[0]!;
    const details: Capture = track(await captureServer((_n, _req, res) => res.end('{"id": 0}')))[0]!;
    const [page] = track(
      await startStandin({
        image: PRODUCTPAGE,
        args: [],
        env: {},
        ports: [],
        listenHost: '127.0.0.1',
        portOverride: 0,
        upstreamOverrides: { details: loopback(details.port), reviews: loopback(reviews.port) },
      }),
    );
    const port = page!.ports[0]!;
    const login = await request(port, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=jason&passwd=x',
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.location, '/productpage');
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0]!;
    assert.match(cookie, /^session=/);
    const trace = {
      'x-request-id': 'rid',
      'x-b3-traceid': 'tid',
      traceparent: 'tp',
      'user-agent': 'ua',
      'x-other': 'no',
    };
    const a = await request(port, '/productpage', { headers: { cookie, ...trace } });
    assert.match(a.body, /jason/);
    assert.match(a.body, /Sign out/);
    for (const seen of [details.seen[0]!, reviews.seen[0]!]) {
      assert.equal(seen.headers['end-user'], 'jason');
      assert.equal(seen.headers['cookie'], cookie);
      for (const k of ['x-request-id', 'x-b3-traceid', 'traceparent', 'user-agent'] as const)
        assert.equal(seen.headers[k], trace[k]);
      assert.equal(seen.headers['x-other'], undefined);
    }
    const logout = await request(port, '/logout', { headers: { cookie, referer: '/productpage' } });
    assert.equal(logout.status, 302);
    assert.match(String(logout.headers['set-cookie']?.[0]), /^session=;.*Max-Age=0/);
    await request(port, '/productpage');
    assert.equal(details.seen[1]!.headers['end-user'], undefined);
  });

  it('answers /, /health and the products list as the real one', async () => {
    const [page] = track(
      await startStandin({
        image: PRODUCTPAGE,
        args: [],
        env: {},
        ports: [],
        listenHost: '127.0.0.1',
        portOverride: 0,
      }),
    );
    const port = page!.ports[0]!;
    assert.equal((await request(port, '/health')).body, 'Product page is healthy');
    assert.match((await request(port, '/')).body, /productpage\?u=normal/);
    const list = await request(port, '/api/v1/products');
    assert.match(list.body, /^\[\{"id": 0, "title": "The Comedy of Errors", "descriptionHtml": /);
  });
});
