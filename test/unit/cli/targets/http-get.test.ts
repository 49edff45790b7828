import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { TargetError, type TargetErrorCode } from '../../../../src/cli/targets/errors.js';
import { fetchJson, fetchText } from '../../../../src/cli/targets/http-get.js';

function failsWith(code: TargetErrorCode, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof TargetError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('cli/targets/http-get', () => {
  let server: http.Server;
  let port: number;
  const sockets = new Set<net.Socket>();

  before(async () => {
    server = http.createServer((req, res) => {
      switch (req.url) {
        case '/ok':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"a":[1,2]}');
          return;
        case '/text':
          res.writeHead(200);
          res.end('not json');
          return;
        case '/missing':
          res.writeHead(404);
          res.end('no such endpoint: /missing\nsecond line\n');
          return;
        case '/hang':
          return; // never answers
        default:
          res.writeHead(500);
          res.end();
      }
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('returns the parsed body of a 200 answer', async () => {
    assert.deepEqual(await fetchJson({ host: '127.0.0.1', port }, '/ok', { peer: 'agent' }), { a: [1, 2] });
  });

  it('a non-200 answer is TARGET_HTTP_STATUS with the status and the first body line', async () => {
    await assert.rejects(
      fetchText({ host: '127.0.0.1', port }, '/missing', { peer: 'agent' }),
      failsWith(
        'TARGET_HTTP_STATUS',
        /^agent on 127\.0\.0\.1:\d+ answered GET \/missing with HTTP 404: no such endpoint: \/missing$/,
      ),
    );
  });

  it('a body that is not JSON is TARGET_BAD_RESPONSE', async () => {
    await assert.rejects(
      fetchJson({ host: '127.0.0.1', port }, '/text', { peer: 'istiod' }),
      failsWith('TARGET_BAD_RESPONSE', /istiod on .*GET \/text is not JSON/),
    );
  });

  it('no answer within the timeout is TARGET_UNREACHABLE saying how long it waited, with the hint', async () => {
    await assert.rejects(
      fetchText({ host: '127.0.0.1', port }, '/hang', {
        peer: 'agent',
        timeoutMs: 200,
        hint: 'is it running?',
      }),
      failsWith(
        'TARGET_UNREACHABLE',
        /^no agent answers on 127\.0\.0\.1:\d+: no answer within 200 ms; is it running\?$/,
      ),
    );
  });

  it('a closed port is TARGET_UNREACHABLE: connection refused', async () => {
    const closed = await closedPort();
    await assert.rejects(
      fetchText({ host: '127.0.0.1', port: closed }, '/config_dump', {
        peer: 'agent',
        hint: 'is `ambit ztunnel` running on node x?',
      }),
      failsWith(
        'TARGET_UNREACHABLE',
        new RegExp(
          `^no agent answers on 127\\.0\\.0\\.1:${closed}: connection refused; is \`ambit ztunnel\` running on node x\\?$`,
        ),
      ),
    );
  });
});
