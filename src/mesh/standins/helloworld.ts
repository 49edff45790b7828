/**
 * helloworld (istio/examples-helloworld-v1, -v2): a Flask app under gunicorn
 * on port 5000. `GET /hello` answers `Hello version: <SERVICE_VERSION>,
 * instance: <HOSTNAME>\n`; `GET /health` answers `Helloworld is healthy`.
 * The image sets SERVICE_VERSION from its build arg (v1 or v2), so the
 * version comes from the env when the container sets it, else from the
 * image name. The real app burns CPU per request; the stand-in does not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf, send, type HttpHandler } from './http-serve.js';

/** gunicorn's bind in the image's CMD (`-b [::]:5000`); the app reads no PORT. */
export const HELLOWORLD_PORT = 5000;

/** Flask's default content type for a string answer. */
const FLASK_HTML = 'text/html; charset=utf-8';

export interface HelloworldConfig {
  /** `None` when neither env nor image name gives one, as Python's `%s` prints it. */
  readonly version: string;
  readonly instance: string;
}

export function helloworldConfig(
  env: Readonly<Record<string, string>>,
  imageVersion: string | undefined,
): HelloworldConfig {
  return { version: env['SERVICE_VERSION'] ?? imageVersion ?? 'None', instance: env['HOSTNAME'] ?? 'None' };
}

export function helloworldHandler(config: HelloworldConfig): HttpHandler {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = pathOf(req);
    if (path === '/hello') {
      send(res, 200, FLASK_HTML, `Hello version: ${config.version}, instance: ${config.instance}\n`);
    } else if (path === '/health') {
      send(res, 200, FLASK_HTML, 'Helloworld is healthy');
    } else {
      send(res, 404, FLASK_HTML, notFoundPage());
    }
    return Promise.resolve();
  };
}

/** Flask's 404 page, in substance. */
export function notFoundPage(): string {
  return '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n';
}
