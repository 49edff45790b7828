/**
 * The admin listener (15000, loopback by default): an index page,
 * `/config_dump` assembled from the sections subsystems register,
 * `/debug/connections`, `POST /logging` and `POST /quitquitquit`, with the
 * answers ztunnel's admin server gives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { AdminError } from './errors.js';
import { HttpListener, sendText } from './http-listener.js';
import { ACCEPTED_LOG_LEVELS, type LogLevelControl } from './log-level.js';
import { PORT_ADMIN } from '../../shared/ports-and-limits.js';

/** ztunnel's default admin port; it binds loopback only. */
export const ADMIN_PORT = PORT_ADMIN;
export const ADMIN_DEFAULT_HOST = '127.0.0.1';

/**
 * Returns one section of `/config_dump`: JSON-serialisable, camelCase keys,
 * lists sorted so that output is stable.
 */
export type ConfigDumpProvider = () => unknown;

/** The config_dump section `/debug/connections` also serves. */
export const CONNECTIONS_SECTION = 'connections';

const ENDPOINTS: readonly (readonly [path: string, description: string])[] = [
  [
    '/config_dump',
    'dump the current node agent state (workloads, services, policies, certificates, connections, ...)',
  ],
  ['/debug/connections', 'list the connections the node agent is proxying'],
  ['/logging', 'query (POST /logging) or change (POST /logging?level=<level>, &reset) the log level'],
  ['/quitquitquit', 'shut the node agent down (POST)'],
];

const LOGGING_HELP = `
usage: POST /logging                      (show the current level)
usage: POST /logging?level=<level>        (change the level of every component)
usage: POST /logging?reset                (back to the start-up level)

hint: level: ${ACCEPTED_LOG_LEVELS.join('|')}
`;

export interface AdminServerOptions {
  readonly logger: Logger;
  readonly logLevel: LogLevelControl;
  /** Called after `POST /quitquitquit` has been answered. */
  readonly shutdown: () => void | Promise<void>;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function indexPage(): string {
  const rows = ENDPOINTS.map(
    ([path, description]) =>
      `<tr><td><a href="${escapeHtml(path)}">${escapeHtml(path)}</a></td><td>${escapeHtml(description)}</td></tr>`,
  ).join('\n');
  return `<!DOCTYPE html>
<html><head><title>ambit node agent admin</title></head>
<body><h1>ambit node agent admin</h1>
<table>
<tr><th>Endpoint</th><th>Description</th></tr>
${rows}
</table></body></html>
`;
}

function sendJson(res: ServerResponse, data: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(data, null, 2)}\n`);
}

export class AdminServer {
  private readonly listener: HttpListener;
  private readonly sections = new Map<string, ConfigDumpProvider>();
  private readonly log: Logger;

  constructor(private readonly options: AdminServerOptions) {
    this.log = options.logger.child({ component: 'admin' });
    this.listener = new HttpListener('admin', (req, res, url) => this.handle(req, res, url), this.log);
  }

  /** Adds a `/config_dump` section; a name may be registered once (ADMIN_DUPLICATE_SECTION). */
  registerConfigDump(name: string, provider: ConfigDumpProvider): void {
    if (this.sections.has(name)) {
      throw new AdminError('ADMIN_DUPLICATE_SECTION', `config_dump section "${name}" is already registered`);
    }
    this.sections.set(name, provider);
  }

  /** The whole dump, sections in name order. A failing provider fails the dump, naming the section. */
  async configDump(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const name of [...this.sections.keys()].sort()) {
      out[name] = await this.section(name);
    }
    return out;
  }

  listen(host: string, port: number): Promise<number> {
    return this.listener.listen(host, port);
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  private async section(name: string): Promise<unknown> {
    const provider = this.sections.get(name);
    if (provider === undefined) return undefined;
    try {
      return await provider();
    } catch (err) {
      throw new AdminError(
        'ADMIN_SECTION_FAILED',
        `config_dump section "${name}" failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    switch (url.pathname) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(indexPage());
        return;
      case '/config_dump':
        if (this.rejectMethod(req, res, 'GET')) return;
        sendJson(res, await this.configDump());
        return;
      case '/debug/connections':
        if (this.rejectMethod(req, res, 'GET')) return;
        sendJson(res, (await this.section(CONNECTIONS_SECTION)) ?? []);
        return;
      case '/logging':
        this.logging(req, res, url);
        return;
      case '/quitquitquit':
        this.quit(req, res);
        return;
      default:
        sendText(res, 404, `no such endpoint: ${url.pathname}\n`);
    }
  }

  /** Answers 405 unless the method is the one allowed; true when it answered. */
  private rejectMethod(
    req: IncomingMessage,
    res: ServerResponse,
    allowed: string,
    body = 'method not allowed\n',
  ): boolean {
    if (req.method === allowed) return false;
    sendText(res, 405, body, { allow: allowed });
    return true;
  }

  private logging(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.rejectMethod(req, res, 'POST', `invalid HTTP method\n${LOGGING_HELP}`)) return;
    const control = this.options.logLevel;
    const level = url.searchParams.get('level');
    const reset = url.searchParams.has('reset');
    if (level !== null || reset) {
      const before = control.current();
      if (reset) control.reset();
      if (level !== null && level !== '') {
        try {
          control.set(level);
        } catch (err) {
          if (!(err instanceof AdminError)) throw err;
          sendText(res, 400, `invalid level provided: ${level}\n${LOGGING_HELP}`);
          return;
        }
      }
      this.log.info({ from: before, to: control.current() }, 'log level changed');
    }
    sendText(res, 200, `current log level is ${control.current()}\n`);
  }

  private quit(req: IncomingMessage, res: ServerResponse): void {
    if (this.rejectMethod(req, res, 'POST')) return;
    this.log.info('shutdown requested');
    res.once('finish', () => {
      Promise.resolve()
        .then(() => this.options.shutdown())
        .catch((err: unknown) => this.log.error({ err }, 'shutdown failed'));
    });
    sendText(res, 200, 'shutdown now\n');
  }
}
