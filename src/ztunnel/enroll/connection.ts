/**
 * One client connection to the enrollment socket: framing, the idle timer
 * and replies in request order. What a request does is the server's
 * business (`handle`); this object only guarantees that nothing a peer sends
 * throws out of a socket callback, that a connection which sends nothing
 * for `idleTimeoutMs` is closed, and that a frame over `maxFrameBytes`
 * closes only its own connection.
 */
import type net from 'node:net';
import type { Logger } from '../../shared/logging.js';
import { errorMessage } from '../../shared/errors.js';
import { EnrollError } from './errors.js';
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION, type Reply } from './protocol.js';

/** The limits a connection enforces; a hit is reported through `onLimit`. */
export interface ConnectionLimits {
  /** Close after this long with no byte received and no request in flight. */
  readonly idleTimeoutMs: number;
  readonly maxFrameBytes: number;
}

/** Which limit a connection hit, as the metric label names it. */
export type EnrollLimit = 'idle_timeout' | 'frame_size' | 'max_connections';

export interface ConnectionHooks {
  /** Turns one frame body into its reply; never rejects (errors become Error replies). */
  handle(frame: Buffer): Promise<Reply>;
  onLimit(limit: EnrollLimit): void;
}

/** Sends one Error frame and half-closes: for refusals before a conversation starts. */
export function refuseConnection(socket: net.Socket, code: string, message: string): void {
  socket.on('error', () => undefined);
  socket.end(encodeFrame({ type: 'Error', id: null, code, message } satisfies Reply));
  // A peer that never reads must not keep the socket: end() waits for the write.
  socket.setTimeout(1_000, () => socket.destroy());
}

export class EnrollmentConnection {
  private readonly decoder: FrameDecoder;
  private readonly idleTimer: NodeJS.Timeout;
  /** Replies leave in request order: each waits for the previous one. */
  private replies: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
  ) {
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    this.idleTimer = setTimeout(() => this.onIdle(), limits.idleTimeoutMs);
    socket.once('close', () => this.dispose());
    socket.on('error', (err) => this.log.debug({ err: errorMessage(err) }, 'enrollment connection error'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.send({ type: 'Hello', version: PROTOCOL_VERSION });
  }

  /** Ends the connection now (server shutdown). */
  destroy(): void {
    this.dispose();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.idleTimer.refresh();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      // The length prefix cannot be trusted any more: answer and hang up.
      const code = err instanceof EnrollError ? err.code : 'ENROLL_MALFORMED';
      if (code === 'ENROLL_FRAME_TOO_LARGE') this.hooks.onLimit('frame_size');
      this.log.warn({ code, err: errorMessage(err), maxFrameBytes: this.limits.maxFrameBytes }, 'enrollment frame refused');
      this.closeWith(code, errorMessage(err));
      return;
    }
    for (const frame of frames) {
      this.inFlight++;
      const reply = this.hooks.handle(frame);
      this.replies = this.replies
        .then(async () => this.send(await reply))
        .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'enrollment reply failed'))
        .finally(() => {
          this.inFlight--;
          if (this.inFlight === 0 && !this.closed) this.idleTimer.refresh();
        });
    }
  }

  private onIdle(): void {
    if (this.closed) return;
    if (this.inFlight > 0) {
      // A long request (a big snapshot) is not idleness: look again later.
      this.idleTimer.refresh();
      return;
    }
    this.hooks.onLimit('idle_timeout');
    this.log.info({ idleTimeoutMs: this.limits.idleTimeoutMs, pendingBytes: this.decoder.pendingBytes }, 'enrollment connection idle, closing');
    this.closeWith('ENROLL_IDLE_TIMEOUT', `no request for ${this.limits.idleTimeoutMs} ms; connect again to enroll`);
  }

  private closeWith(code: string, message: string): void {
    this.dispose();
    if (this.socket.destroyed) return;
    refuseConnection(this.socket, code, message);
  }

  private send(message: unknown): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(encodeFrame(message));
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
  }
}
