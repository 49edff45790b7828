/**
 * Completing a connect on the event loop: the addon makes the socket inside
 * the pod's netns (socket() is the only call that needs the namespace), and
 * a net.Socket connects it non-blocking, so a connect that waits on the
 * network holds no thread, and the deadline is a timer owned by the attempt.
 */
import net from 'node:net';
import { RedirectError } from './errors.js';

export interface ConnectAttempt {
  readonly fd: number;
  readonly address: string;
  readonly port: number;
  /** For messages: where the socket was made, e.g. the netns path. */
  readonly where: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Connects the socket `fd` to address:port. Resolves with the connected
 * net.Socket; rejects with REDIRECT_CONNECT_FAILED (the socket error as
 * `cause`) or REDIRECT_CONNECT_TIMEOUT, the socket destroyed in both cases.
 */
export function connectFd(a: ConnectAttempt): Promise<net.Socket> {
  // Half-open: the app may shut down its sending side and still read the answer.
  const socket = new net.Socket({ fd: a.fd, readable: true, writable: true, allowHalfOpen: true });
  const target = a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  const aborted = (): RedirectError =>
    new RedirectError('REDIRECT_CONNECT_TIMEOUT', `connect to ${target} from ${a.where}: aborted`, { cause: a.signal?.reason });
  if (a.signal?.aborted === true) {
    socket.destroy();
    return Promise.reject(aborted());
  }
  return new Promise<net.Socket>((resolve, reject) => {
    const settle = (err?: RedirectError): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      a.signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve(socket);
        return;
      }
      // A late error from a destroyed socket must not become an uncaught one.
      socket.on('error', () => undefined);
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => settle();
    const onError = (err: Error): void =>
      settle(new RedirectError('REDIRECT_CONNECT_FAILED', `connect to ${target} from ${a.where}: ${err.message}`, { cause: err }));
    const onAbort = (): void => settle(aborted());
    const timer = setTimeout(
      () => settle(new RedirectError('REDIRECT_CONNECT_TIMEOUT', `connect to ${target} from ${a.where}: no answer in ${a.timeoutMs} ms`)),
      a.timeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    a.signal?.addEventListener('abort', onAbort, { once: true });
    socket.connect({ host: a.address, port: a.port });
  });
}
