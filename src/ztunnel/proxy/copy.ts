/**
 * Copying bytes between the two sides of a proxied connection (ztunnel's
 * `copy.rs`): both directions with half-close and backpressure (`pipe`
 * pauses a side whose peer is full), bytes counted as they flow, and one
 * report when both sides have closed. A side that fails, or closes before
 * both of its directions ended, resets the other: TCP sockets with an RST,
 * HTTP/2 streams with RST_STREAM, so an app never mistakes a broken tunnel
 * for a clean end (a dead HBONE session included: its streams close without
 * an end, and the app's socket is reset).
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Byte counts of a finished copy. */
export interface CopyResult {
  /** Bytes read from the downstream (the side that connected to the proxy) and written upstream. */
  readonly bytesFromPeer: number;
  /** Bytes read from upstream and written downstream. */
  readonly bytesToPeer: number;
  /** Why the copy ended early; undefined for a clean end of both directions. */
  readonly error: Error | undefined;
}

/** @deprecated the name the HBONE server used; same shape. */
export type TunnelResult = CopyResult;

/** Counts bytes as they flow ('in' = from downstream), for live metrics. */
export type OnBytes = (direction: 'in' | 'out', bytes: number) => void;

/**
 * Pipes `downstream` and `upstream` both ways until both have closed, then
 * calls `onClose` exactly once. Sides that closed before the call are
 * handled too (the other side is reset and the report still comes).
 */
export function splice(downstream: Duplex, upstream: Duplex, onBytes: OnBytes | undefined, onClose: ((result: CopyResult) => void) | undefined): void {
  let bytesFromPeer = 0;
  let bytesToPeer = 0;
  let closed = 0;
  let failure: Error | undefined;
  const fail = (err: Error): void => {
    if (failure !== undefined) return;
    failure = err;
    abort(downstream, err);
    abort(upstream, err);
  };
  const sideClosed = (side: Duplex): void => {
    if (!side.readableEnded || !side.writableFinished) fail(new Error('tunnel side closed before its end'));
    if (++closed === 2) onClose?.({ bytesFromPeer, bytesToPeer, error: failure });
  };
  downstream.on('data', (chunk: Buffer) => {
    bytesFromPeer += chunk.length;
    onBytes?.('in', chunk.length);
  });
  upstream.on('data', (chunk: Buffer) => {
    bytesToPeer += chunk.length;
    onBytes?.('out', chunk.length);
  });
  downstream.on('error', fail);
  upstream.on('error', fail);
  whenClosed(downstream, () => sideClosed(downstream));
  whenClosed(upstream, () => sideClosed(upstream));
  // Half-close is passed on one turn of the event loop late: a stream of an
  // HTTP/2 session that died reports 'end' just before its abnormal 'close',
  // and passing that end on would turn a broken tunnel into a clean FIN
  // (and a pending shutdown makes the socket's RST impossible: EINVAL).
  const passEnd = (to: Duplex) => (): void => {
    setImmediate(() => {
      if (failure === undefined && !to.destroyed) to.end();
    });
  };
  downstream.once('end', passEnd(upstream));
  upstream.once('end', passEnd(downstream));
  downstream.pipe(upstream, { end: false });
  upstream.pipe(downstream, { end: false });
}

/**
 * Calls `cb` once when `stream` has closed, also for a stream that closed
 * (or is closing) already: its 'close' may have been emitted before anyone
 * listened, and waiting for it would leak the connection.
 */
export function whenClosed(stream: Duplex, cb: () => void): void {
  if (stream.closed || stream.destroyed) {
    setImmediate(cb);
    return;
  }
  stream.once('close', cb);
}

/** Ends a side abruptly: an RST for a TCP socket, RST_STREAM for an HTTP/2 stream. */
export function abort(stream: Duplex, err?: Error): void {
  if (stream.destroyed) return;
  if (stream instanceof Socket) resetSocket(stream);
  else stream.destroy(err);
}

/**
 * Resets a TCP socket (RST, not FIN). A socket whose handle is not TCP (a
 * pipe in tests) or is already gone is simply destroyed.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    // resetAndDestroy refuses non-TCP handles (ERR_INVALID_HANDLE_TYPE): a plain close is all there is.
    socket.destroy();
  }
}
