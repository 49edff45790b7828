import assert from 'node:assert/strict';
import { httpbinConfig } from '../../../../src/mesh/standins/httpbin.js';
import { parseWeightedCodes, pickWeighted } from '../../../../src/mesh/standins/httpbin-shapes.js';
import { startStandin, type RunningStandin } from '../../../../src/mesh/standins/serve.js';
import { request } from '../../../support/standin-client.js';

const IMAGE = 'docker.io/mccutchen/go-httpbin:v2.15.0';

describe('mesh/standins httpbin', () => {
  it('listens where the image would: -port, gunicorn -b, env PORT, else 8080 (go) or 80 (python)', () => {
    assert.equal(httpbinConfig('mccutchen/go-httpbin', [], {}).port, 8080);
    assert.equal(
      httpbinConfig('mccutchen/go-httpbin', ['go-httpbin', '-port', '8081', '-max-duration', '600s'], {})
        .port,
      8081,
    );
    assert.equal(httpbinConfig('mccutchen/go-httpbin', [], { PORT: '9999' }).port, 9999);
    assert.equal(httpbinConfig('mccutchen/go-httpbin', ['-port=7000'], { PORT: '9999' }).port, 7000);
    assert.equal(httpbinConfig('kennethreitz/httpbin', [], {}).port, 80);
    assert.equal(
      httpbinConfig('kong/httpbin', ['pipenv', 'run', 'gunicorn', '-b', '0.0.0.0:8080', 'httpbin:app'], {})
        .port,
      8080,
    );
    assert.equal(httpbinConfig('mccutchen/go-httpbin', ['-max-duration', '600s'], {}).maxDurationMs, 600_000);
    assert.equal(httpbinConfig('mccutchen/go-httpbin', [], {}).maxDurationMs, 10_000);
  });

  it('picks weighted status codes in proportion to their weights', () => {
    const choices = parseWeightedCodes('200:0.25,500:0.75');
    assert.ok(Array.isArray(choices));
    assert.equal(pickWeighted(choices, 0.1), 200);
    assert.equal(pickWeighted(choices, 0.3), 500);
    assert.equal(typeof parseWeightedCodes('200:x'), 'string');
  });

  describe('over loopback', () => {
    let running: RunningStandin;
    let port: number;
    before(async () => {
      running = await startStandin({
        image: IMAGE,
        args: [],
        env: { PORT: '0' },
        ports: [8080],
        listenHost: '127.0.0.1',
      });
      port = running.ports[0]!;
    });
    after(() => running.close());

    it('/get answers args and headers as arrays with canonical names', async () => {
      const a = await request(port, '/get?a=1&a=2&b=x', {
        headers: { 'x-request-id': 'r1', 'user-agent': 'ua' },
      });
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'application/json; charset=utf-8');
      const j = JSON.parse(a.body) as Record<string, unknown>;
      assert.deepEqual(j['args'], { a: ['1', '2'], b: ['x'] });
      const h = j['headers'] as Record<string, string[]>;
      assert.deepEqual(h['X-Request-Id'], ['r1']);
      assert.deepEqual(h['Host'], [`127.0.0.1:${port}`]);
      assert.equal(j['method'], 'GET');
      assert.equal(j['origin'], '127.0.0.1');
      assert.equal(j['url'], `http://127.0.0.1:${port}/get?a=1&a=2&b=x`);
      assert.equal((await request(port, '/get', { method: 'POST' })).status, 405);
    });

    it('/headers, /ip, /user-agent and /uuid answer their single fields', async () => {
      const h = JSON.parse((await request(port, '/headers', { headers: { 'x-b3-traceid': 't' } })).body) as {
        headers: Record<string, string[]>;
      };
      assert.deepEqual(h.headers['X-B3-Traceid'], ['t']);
      assert.deepEqual(
        JSON.parse(
          (await request(port, '/ip', { headers: { 'x-forwarded-for': '10.0.0.9, 10.0.0.1' } })).body,
        ),
        { origin: '10.0.0.9' },
      );
      assert.deepEqual(
        JSON.parse((await request(port, '/user-agent', { headers: { 'user-agent': 'curl/8' } })).body),
        { 'user-agent': 'curl/8' },
      );
      assert.match(
        (JSON.parse((await request(port, '/uuid')).body) as { uuid: string }).uuid,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    });

    it('/anything echoes any method with its json, form or raw body', async () => {
      const js = JSON.parse(
        (
          await request(port, '/anything/x', {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: '{"k":[1]}',
          })
        ).body,
      ) as Record<string, unknown>;
      assert.equal(js['method'], 'PUT');
      assert.deepEqual(js['json'], { k: [1] });
      assert.equal(js['data'], '{"k":[1]}');
      const form = JSON.parse(
        (
          await request(port, '/anything', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'a=1&b=2',
          })
        ).body,
      ) as Record<string, unknown>;
      assert.deepEqual(form['form'], { a: ['1'], b: ['2'] });
      const raw = JSON.parse(
        (
          await request(port, '/anything', {
            method: 'DELETE',
            headers: { 'content-type': 'application/octet-stream' },
            body: 'hi',
          })
        ).body,
      ) as Record<string, unknown>;
      assert.equal(raw['data'], 'data:application/octet-stream;base64,aGk=');
      const bad = await request(port, '/anything', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      assert.equal(bad.status, 400);
    });

    it('/status answers the code, a weighted pick, or a 400 error body', async () => {
      const teapot = await request(port, '/status/418');
      assert.equal(teapot.status, 418);
      assert.equal(teapot.body, "I'm a teapot!");
      assert.equal((await request(port, '/status/503')).status, 503);
      assert.equal((await request(port, '/status/500:0,201:1')).status, 201);
      assert.equal((await request(port, '/status/302')).headers.location, '/redirect/1');
      const bad = await request(port, '/status/99');
      assert.equal(bad.status, 400);
      assert.deepEqual(Object.keys(JSON.parse(bad.body) as object), ['status_code', 'error', 'detail']);
    });

    it('/delay waits, then echoes; past the max duration it is a 400', async () => {
      const started = performance.now();
      const a = await request(port, '/delay/0.2');
      assert.equal(a.status, 200);
      assert.ok(performance.now() - started >= 190);
      assert.match(String(a.headers['server-timing']), /^initial_delay;dur=200\.00/);
      assert.equal((await request(port, '/delay/11')).status, 400);
      assert.equal((await request(port, '/delay/abc')).status, 400);
    });

    it('/response-headers sets each query arg as a header and echoes them', async () => {
      const a = await request(port, '/response-headers?X-Test=1&X-Test=2');
      assert.equal(a.headers['x-test'], '1, 2');
      assert.deepEqual(JSON.parse(a.body), {
        'Content-Type': ['application/json; charset=utf-8'],
        'X-Test': ['1', '2'],
      });
    });

    it('/redirect-to redirects with status_code in 300-399, default 302', async () => {
      const a = await request(port, '/redirect-to?url=http%3A%2F%2Fexample.com%2F&status_code=307');
      assert.equal(a.status, 307);
      assert.equal(a.headers.location, 'http://example.com/');
      assert.equal((await request(port, '/redirect-to?url=/get')).status, 302);
      assert.equal((await request(port, '/redirect-to?url=/get&status_code=200')).status, 400);
      assert.equal((await request(port, '/redirect-to')).status, 400);
    });

    it('answers / with HTML and unknown paths with a JSON 404', async () => {
      assert.match(String((await request(port, '/')).headers['content-type']), /^text\/html/);
      const nf = await request(port, '/nope');
      assert.equal(nf.status, 404);
      assert.deepEqual(JSON.parse(nf.body), { status_code: 404, error: 'Not Found' });
    });
  });

  it('close ends a pending /delay instead of waiting it out', async () => {
    const running = await startStandin({
      image: IMAGE,
      args: ['-port', '0'],
      env: {},
      ports: [],
      listenHost: '127.0.0.1',
    });
    const pending = request(running.ports[0]!, '/delay/9').then(
      () => 'answered',
      () => 'reset',
    );
    // Closing must not take the 9 s the delay asks for (mocha's timeout is the bound).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const started = performance.now();
    await running.close();
    assert.equal(await pending, 'reset');
    assert.ok(performance.now() - started < 5000);
  });
});
