import type net from 'node:net';

/** Bounds a connect (ztunnel: 10 s for upstream TCP); the socket is destroyed if it arrives late. */
export function connectWithTimeout(connecting: Promise<net.Socket>, timeoutMs: number): Promise<net.Socket> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  return Promise.race([
    connecting.then((s) => {
      if (timedOut) s.destroy();
      return s;
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`upstream connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
