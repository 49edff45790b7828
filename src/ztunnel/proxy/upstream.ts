import type net from 'node:net';
import { withDeadline } from '../../shared/deadline.js';

/**
 * A plain TCP connect bounded by the upstream connect timeout (ztunnel:
 * 10 s) and by the caller's signal (the client went away, the HBONE
 * handler's deadline). A socket that arrives after either is destroyed.
 */
export function dialUpstream(
  connect: () => Promise<net.Socket>,
  target: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<net.Socket> {
  return withDeadline(
    {
      timeoutMs,
      timeoutError: () => new Error(`upstream connect to ${target} timed out after ${timeoutMs} ms`),
      dispose: (late) => late.destroy(),
      ...(signal !== undefined ? { parent: signal } : {}),
    },
    () => connect(),
  );
}
