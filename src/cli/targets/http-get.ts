/**
 * GET a JSON document from a debug endpoint (the agent's admin port, istiod's
 * monitoring port), with a deadline. Failures become {@link TargetError}s
 * whose message names the address and says what happened, plus the caller's
 * hint on who should be answering there.
 */
import http from 'node:http';
import { formatTargetAddress, type TargetAddress } from './address.js';
import { TargetError } from './errors.js';

/** How long a debug command waits for an answer. */
export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
/** Larger answers are refused rather than buffered (a config_dump of 10k pods is a few tens of MB). */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface FetchOptions {
  readonly timeoutMs?: number;
  /** Who should answer, for messages: "agent", "istiod". */
  readonly peer: string;
  /** Appended to an unreachable-target message, e.g. "is `ambit ztunnel` running on node a?". */
  readonly hint?: string;
}

const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'name resolution failed',
  EADDRNOTAVAIL: 'address not available',
};

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && REASONS[code] !== undefined) return REASONS[code];
  return err instanceof Error ? err.message : String(err);
}

/** The body of `GET http://<address><path>` when it answers 200, as text. */
export function fetchText(address: TargetAddress, path: string, options: FetchOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const where = formatTargetAddress(address);
  const unreachable = (reason: string, cause?: unknown): TargetError =>
    new TargetError(
      'TARGET_UNREACHABLE',
      `no ${options.peer} answers on ${where}: ${reason}${options.hint === undefined ? '' : `; ${options.hint}`}`,
      { cause },
    );
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, body?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined) reject(err);
      else resolve(body ?? '');
    };
    const req = http.get(
      { host: address.host, port: address.port, path, headers: { accept: 'application/json' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            finish(
              new TargetError(
                'TARGET_BAD_RESPONSE',
                `${options.peer} on ${where}: GET ${path} is larger than ${MAX_RESPONSE_BYTES} bytes`,
              ),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => finish(unreachable(reasonOf(err), err)));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            const first = body.split('\n', 1)[0]?.trim() ?? '';
            finish(
              new TargetError(
                'TARGET_HTTP_STATUS',
                `${options.peer} on ${where} answered GET ${path} with HTTP ${res.statusCode ?? '?'}${first === '' ? '' : `: ${first.slice(0, 200)}`}`,
              ),
            );
            return;
          }
          finish(undefined, body);
        });
      },
    );
    const timer = setTimeout(() => {
      finish(unreachable(`no answer within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => finish(unreachable(reasonOf(err), err)));
  });
}

/** Like {@link fetchText}, parsed as JSON. */
export async function fetchJson(
  address: TargetAddress,
  path: string,
  options: FetchOptions,
): Promise<unknown> {
  const body = await fetchText(address, path, options);
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new TargetError(
      'TARGET_BAD_RESPONSE',
      `${options.peer} on ${formatTargetAddress(address)}: GET ${path} is not JSON: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
