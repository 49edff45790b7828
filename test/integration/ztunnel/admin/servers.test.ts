import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  AdminError,
  AdminServer,
  LogLevelControl,
  Readiness,
  ReadinessServer,
  StatsServer,
} from '../../../../src/ztunnel/admin/index.js';
import {
  LiveConnections,
  TrafficMetrics,
  registerBuildInfo,
  type ConnectionResult,
} from '../../../../src/ztunnel/telemetry/index.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly raw: Buffer;
  readonly body: string;
}

function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body: raw.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe('node agent HTTP servers over 127.0.0.1', () => {
  describe('stats server', () => {
    let registry: Registry;
    let server: StatsServer;
    let port: number;

    before(async () => {
      registry = new Registry();
      registerBuildInfo(registry, '1.0.0-test');
      const traffic = new TrafficMetrics({ registry, logger: pino({ level: 'silent' }) });
      const r = traffic.open(
        { reporter: 'destination', connectionSecurityPolicy: 'unknown' },
        { src: '10.0.0.1:1000', dst: '10.0.0.2:80', protocol: 'TCP' },
      );
      r.recordReceived(512);
      r.close();
      server = new StatsServer({ registry, logger: pino({ level: 'silent' }) });
      port = await server.listen('127.0.0.1', 0);
    });

    after(async () => {
      await server.close();
      registry.clear();
    });

    for (const path of ['/metrics', '/stats/prometheus']) {
      it(`GET ${path} serves the registry in the Prometheus text format`, async () => {
        const a = await call(port, 'GET', path);
        assert.equal(a.status, 200);
        assert.equal(a.headers['content-type'], registry.contentType);
        assert.match(a.body, /^istio_build\{component="ztunnel",tag="1.0.0-test"\} 1$/m);
        assert.match(a.body, /^istio_tcp_received_bytes_total\{reporter="destination",.*\} 512$/m);
      });
    }

    it('serves the same exposition on both paths', async () => {
      const [a, b] = await Promise.all([
        call(port, 'GET', '/metrics'),
        call(port, 'GET', '/stats/prometheus'),
      ]);
      assert.equal(a.body, b.body);
    });

    it('compresses with gzip when the scraper accepts it', async () => {
      const a = await call(port, 'GET', '/metrics', { 'accept-encoding': 'gzip' });
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-encoding'], 'gzip');
      assert.match(gunzipSync(a.raw).toString('utf8'), /istio_tcp_connections_opened_total/);
    });

    it('answers 404 for any other path', async () => {
      assert.equal((await call(port, 'GET', '/')).status, 404);
      assert.equal((await call(port, 'GET', '/stats')).status, 404);
    });

    it('answers 405 for a POST to /metrics', async () => {
      assert.equal((await call(port, 'POST', '/metrics')).status, 405);
    });

    it('fails to listen on a port already taken with ADMIN_LISTEN_FAILED', async () => {
      const other = new StatsServer({ registry, logger: pino({ level: 'silent' }) });
      await assert.rejects(
        other.listen('127.0.0.1', port),
        (err: unknown) => err instanceof AdminError && err.code === 'ADMIN_LISTEN_FAILED',
      );
      await other.close();
    });
  });

  describe('readiness server', () => {
    let readiness: Readiness;
    let server: ReadinessServer;
    let port: number;

    before(async () => {
      readiness = new Readiness();
      server = new ReadinessServer({ readiness, logger: pino({ level: 'silent' }) });
      port = await server.listen('127.0.0.1', 0);
    });

    after(() => server.close());

    it('answers 500 naming the pending tasks sorted, then 200 ready once all are done', async () => {
      const proxy = readiness.register('proxy');
      const state = readiness.register('state manager');
      const dns = readiness.register('dns proxy');
      let a = await call(port, 'GET', '/healthz/ready');
      assert.equal(a.status, 500);
      assert.equal(a.body, 'not ready, pending: dns proxy, proxy, state manager\n');
      assert.match(String(a.headers['content-type']), /^text\/plain/);
      state();
      dns();
      a = await call(port, 'GET', '/healthz/ready');
      assert.equal(a.body, 'not ready, pending: proxy\n');
      proxy();
      a = await call(port, 'GET', '/healthz/ready');
      assert.equal(a.status, 200);
      assert.equal(a.body, 'ready\n');
    });

    it('answers 405 for a method other than GET', async () => {
      assert.equal((await call(port, 'POST', '/healthz/ready')).status, 405);
    });

    it('answers 404 for other paths', async () => {
      assert.equal((await call(port, 'GET', '/ready')).status, 404);
    });
  });

  describe('admin server', () => {
    let captured: ReturnType<typeof capturingLogger>;
    let component: pino.Logger;
    let server: AdminServer;
    let port: number;
    let shutdowns: number;
    let connections: LiveConnections;
    let registry: Registry;
    let live: ConnectionResult;

    before(async () => {
      captured = capturingLogger();
      component = captured.logger.child({ component: 'proxy' });
      shutdowns = 0;
      registry = new Registry();
      connections = new LiveConnections();
      const traffic = new TrafficMetrics({ registry, logger: pino({ level: 'silent' }), connections });
      live = traffic.open(
        { reporter: 'source', connectionSecurityPolicy: 'unknown' },
        { src: '10.0.0.1:1000', dst: '93.184.216.34:443', protocol: 'TCP' },
      );
      server = new AdminServer({
        logger: captured.logger,
        logLevel: new LogLevelControl(captured.logger),
        shutdown: () => {
          shutdowns += 1;
        },
      });
      server.registerConfigDump('workloads', () => [{ uid: 'a', name: 'pod-a', namespace: 'ns' }]);
      server.registerConfigDump('certificates', () => [
        { identity: 'spiffe://cluster.local/ns/ns/sa/a', state: 'Available' },
      ]);
      server.registerConfigDump('connections', () => connections.dump());
      server.registerConfigDump('xds', async () => ({ connected: true }));
      port = await server.listen('127.0.0.1', 0);
    });

    after(async () => {
      live.close();
      await server.close();
      registry.clear();
    });

    it('serves an HTML index that links every endpoint', async () => {
      const a = await call(port, 'GET', '/');
      assert.equal(a.status, 200);
      assert.match(String(a.headers['content-type']), /^text\/html/);
      for (const path of ['/config_dump', '/debug/connections', '/logging', '/quitquitquit']) {
        assert.ok(a.body.includes(`href="${path}"`), path);
      }
    });

    it('GET /config_dump answers pretty JSON with the registered sections in name order', async () => {
      const a = await call(port, 'GET', '/config_dump');
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'application/json');
      const dump = JSON.parse(a.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(dump), ['certificates', 'connections', 'workloads', 'xds']);
      assert.deepEqual(dump.workloads, [{ uid: 'a', name: 'pod-a', namespace: 'ns' }]);
      assert.deepEqual(dump.xds, { connected: true });
      assert.ok(a.body.includes('\n  "certificates": ['), 'indented');
    });

    it('GET /debug/connections lists the live connections', async () => {
      const a = await call(port, 'GET', '/debug/connections');
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'application/json');
      const list = JSON.parse(a.body) as { direction: string; remote: string; protocol: string }[];
      assert.deepEqual(
        list.map((c) => [c.direction, c.remote, c.protocol]),
        [['outbound', '93.184.216.34:443', 'TCP']],
      );
    });

    it('refuses a second provider for the same section with ADMIN_DUPLICATE_SECTION', () => {
      assert.throws(
        () => server.registerConfigDump('workloads', () => []),
        (err: unknown) => err instanceof AdminError && err.code === 'ADMIN_DUPLICATE_SECTION',
      );
    });

    it('POST /logging without a query reports the current level', async () => {
      const a = await call(port, 'POST', '/logging');
      assert.equal(a.status, 200);
      assert.equal(a.body, 'current log level is info\n');
    });

    it('POST /logging?level=debug makes component debug lines appear, and reset hides them again', async () => {
      component.debug('before the change');
      let a = await call(port, 'POST', '/logging?level=debug');
      assert.equal(a.status, 200);
      assert.equal(a.body, 'current log level is debug\n');
      component.debug('after the change');
      a = await call(port, 'POST', '/logging?reset');
      assert.equal(a.body, 'current log level is info\n');
      component.debug('after the reset');
      const messages = captured.lines.filter((l) => l.component === 'proxy').map((l) => l.msg);
      assert.deepEqual(messages, ['after the change']);
      const changes = captured.lines.filter((l) => l.msg === 'log level changed').map((l) => [l.from, l.to]);
      assert.deepEqual(changes, [
        ['info', 'debug'],
        ['debug', 'info'],
      ]);
    });

    it('POST /logging?level=warn hides info lines', async () => {
      await call(port, 'POST', '/logging?level=warn');
      component.info('hidden');
      component.warn('shown');
      await call(port, 'POST', '/logging?reset');
      const messages = captured.lines.filter((l) => l.component === 'proxy').map((l) => l.msg);
      assert.ok(messages.includes('shown'));
      assert.ok(!messages.includes('hidden'));
    });

    it('POST /logging with an unknown level answers 400 listing the allowed values and keeps the level', async () => {
      const a = await call(port, 'POST', '/logging?level=loud');
      assert.equal(a.status, 400);
      assert.match(a.body, /invalid level provided: loud/);
      assert.match(a.body, /off\|error\|warn\|info\|debug\|trace/);
      assert.equal((await call(port, 'POST', '/logging')).body, 'current log level is info\n');
    });

    it('GET /logging answers 405 with the help text', async () => {
      const a = await call(port, 'GET', '/logging');
      assert.equal(a.status, 405);
      assert.match(a.body, /usage: POST \/logging\?level=<level>/);
    });

    it('GET /quitquitquit answers 405 and does not shut down', async () => {
      const a = await call(port, 'GET', '/quitquitquit');
      assert.equal(a.status, 405);
      assert.equal(shutdowns, 0);
    });

    it('POST /quitquitquit answers "shutdown now" and calls the shutdown function once', async () => {
      const a = await call(port, 'POST', '/quitquitquit');
      assert.equal(a.status, 200);
      assert.equal(a.body, 'shutdown now\n');
      for (let i = 0; i < 50 && shutdowns === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(shutdowns, 1);
    });

    it('answers 404 for an unknown path', async () => {
      const a = await call(port, 'GET', '/stats');
      assert.equal(a.status, 404);
    });

    it('answers 405 for a POST to /config_dump', async () => {
      assert.equal((await call(port, 'POST', '/config_dump')).status, 405);
    });
  });

  describe('admin server with a failing section', () => {
    let server: AdminServer;
    let port: number;
    let lines: Record<string, unknown>[];

    before(async () => {
      const c = capturingLogger();
      lines = c.lines;
      server = new AdminServer({
        logger: c.logger,
        logLevel: new LogLevelControl(c.logger),
        shutdown: () => undefined,
      });
      server.registerConfigDump('policies', () => {
        throw new Error('index not built');
      });
      port = await server.listen('127.0.0.1', 0);
    });

    after(() => server.close());

    it('answers 500 and logs the error naming the section', async () => {
      const a = await call(port, 'GET', '/config_dump');
      assert.equal(a.status, 500);
      const logged = lines.find((l) => l.msg === 'request failed');
      assert.ok(logged);
      assert.match(
        String((logged.err as { message: string }).message),
        /section "policies" failed: index not built/,
      );
    });
  });
});
