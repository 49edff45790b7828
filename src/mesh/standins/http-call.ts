/**
 * The outbound GET the Bookinfo stand-ins make to each other, shaped like the
 * real clients: a fresh connection per call (Python requests without a
 * session, the JAX-RS client), one deadline for the whole exchange, and an
 * outcome instead of an exception, since a failing backend only ever becomes
 * an error text in the caller's answer.
 */
import http from 'node:http';
import { errorMessage } from '../../shared/errors.js';

export type CallResult =
  | { readonly kind: 'answered'; readonly status: number; readonly body: Buffer }
  | { readonly kind: 'failed'; readonly reason: string };

/** Answers larger than this are failures: Bookinfo's JSON is a few hundred bytes. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** GETs `url`; the call fails after `timeoutMs` or when `signal` aborts. */
export function httpGet(
  url: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<CallResult> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'failed', reason: 'aborted' });
      return;
    }
    let settled = false;
    const finish = (result: CallResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    let req: http.ClientRequest;
    try {
      req = http.get(url, { headers: { ...headers }, agent: false });
    } catch (err) {
      resolve({ kind: 'failed', reason: errorMessage(err) });
      return;
    }
    const timer = setTimeout(() => {
      req.destroy();
      finish({ kind: 'failed', reason: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    const onAbort = (): void => {
      req.destroy();
      finish({ kind: 'failed', reason: 'aborted' });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish({ kind: 'failed', reason: errorMessage(err) }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          req.destroy();
          finish({ kind: 'failed', reason: `answer larger than ${MAX_ANSWER_BYTES} bytes` });
        } else {
          chunks.push(chunk);
        }
      });
      res.on('end', () =>
        finish({ kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
      );
      res.on('error', (err) => finish({ kind: 'failed', reason: errorMessage(err) }));
    });
  });
}

/** The JSON object of a 200 answer, or `undefined` (other status, not JSON, not an object). */
export function okJson(result: CallResult): Record<string, unknown> | undefined {
  if (result.kind !== 'answered' || result.status !== 200) return undefined;
  try {
    const value: unknown = JSON.parse(result.body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Copies the named request headers that are present (names lower-case). */
export function pickHeaders(
  incoming: http.IncomingHttpHeaders,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = incoming[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
