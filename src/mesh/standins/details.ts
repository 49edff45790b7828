/**
 * details (istio/examples-bookinfo-details-v1): a WEBrick server on 9080.
 * `GET /details/<id>` answers the one book it knows with the id it was asked
 * for; a non-numeric id is a 400 `{"error":"please provide numeric product id"}`.
 * `GET /health` answers `{"status":"Details is healthy"}`. The real server
 * can fetch from Google Books (ENABLE_EXTERNAL_BOOK_SERVICE=true); the
 * stand-in has no internet and always answers the built-in book.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf, send, type HttpHandler } from './http-serve.js';

const JSON_TYPE = 'application/json';

/** The built-in book, fields in the real answer's order. */
export function bookDetails(id: number): Record<string, unknown> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

/** Ruby's Integer(): decimal digits, optional sign and surrounding blanks (0x/0b/0o forms too). */
function rubyInteger(s: string): number | undefined {
  const t = s.trim().replace(/_/g, '');
  if (/^[+-]?\d+$/.test(t)) return Number(t);
  const m = /^([+-]?)0([xbo])([0-9a-f]+)$/i.exec(t);
  if (m === null) return undefined;
  const radix = { x: 16, b: 2, o: 8 }[m[2]!.toLowerCase() as 'x' | 'b' | 'o'];
  const n = parseInt(m[3]!, radix);
  return Number.isNaN(n) ? undefined : m[1] === '-' ? -n : n;
}

export function detailsHandler(): HttpHandler {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = pathOf(req);
    if (path === '/health' || path.startsWith('/health/')) {
      send(res, 200, JSON_TYPE, JSON.stringify({ status: 'Details is healthy' }));
    } else if (path === '/details' || path.startsWith('/details/')) {
      // WEBrick's mount_proc takes every path under /details; the id is the last segment.
      const last =
        path
          .split('/')
          .filter((p) => p !== '')
          .pop() ?? '';
      const id = rubyInteger(decodeURIComponent(last));
      if (id === undefined)
        send(res, 400, JSON_TYPE, JSON.stringify({ error: 'please provide numeric product id' }));
      else send(res, 200, JSON_TYPE, JSON.stringify(bookDetails(id)));
    } else {
      send(res, 404, 'text/html', `Not Found: ${path}\n`);
    }
    return Promise.resolve();
  };
}
