/**
 * The CNI side of enrollment: connects to the agent's socket, checks its
 * Hello, sends requests and waits for the matching Ack or Error, each bound
 * by a timeout. Used by `ambit cni` (one request per invocation) and by
 * `ambit mesh` (a long-lived connection).
 */
import net from 'node:net';
import { EnrollError, EnrollRejectedError } from './errors.js';
import {
  DEFAULT_SOCKET_PATH,
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeFrame,
  FrameDecoder,
  parseFrame,
  type PodInfo,
  type Reply,
} from './protocol.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface EnrollmentClientOptions {
  readonly socketPath?: string;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class EnrollmentClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly socketPath: string,
    private readonly requestTimeoutMs: number,
  ) {}

  /** Connects and waits for the agent's Hello; fails with ENROLL_UNREACHABLE when nobody listens. */
  static connect(options: EnrollmentClientOptions = {}): Promise<EnrollmentClient> {
    const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const decoder = new FrameDecoder();
      let client: EnrollmentClient | undefined;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new EnrollError('ENROLL_TIMEOUT', `${socketPath}: no Hello from the agent within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        if (client === undefined) {
          socket.destroy();
          reject(err);
        } else {
          client.fail(err);
        }
      };
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const unreachable = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
        fail(
          new EnrollError(
            unreachable ? 'ENROLL_UNREACHABLE' : 'ENROLL_CONNECTION_CLOSED',
            unreachable
              ? `${socketPath}: no node agent is listening (${err.code}); is ambit ztunnel running on this node?`
              : `${socketPath}: ${err.message}`,
            { cause: err },
          ),
        );
      });
      socket.on('close', () =>
        fail(new EnrollError('ENROLL_CONNECTION_CLOSED', `${socketPath}: the agent closed the connection`)),
      );
      socket.on('data', (chunk: Buffer) => {
        try {
          for (const frame of decoder.push(chunk)) {
            const msg = decodeServerMessage(parseFrame(frame));
            if (msg.type === 'Hello') {
              if (msg.version !== PROTOCOL_VERSION) {
                throw new EnrollError(
                  'ENROLL_UNSUPPORTED_VERSION',
                  `${socketPath}: agent speaks enrollment version ${msg.version}, this client ${PROTOCOL_VERSION}`,
                );
              }
              if (client === undefined) {
                clearTimeout(timer);
                client = new EnrollmentClient(socket, socketPath, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
                resolve(client);
              }
            } else if (client === undefined && msg.type === 'Error') {
              // The agent refuses the connection itself (e.g. too many connections).
              throw new EnrollRejectedError(msg.code, `${socketPath}: agent refused the connection: ${msg.message}`);
            } else if (client === undefined) {
              throw new EnrollError('ENROLL_MALFORMED', `${socketPath}: agent replied before its Hello`);
            } else {
              client.onReply(msg);
            }
          }
        } catch (err) {
          fail(err as Error);
          socket.destroy();
        }
      });
    });
  }

  addPod(pod: PodInfo): Promise<void> {
    return this.request({ type: 'AddPod', ...pod });
  }

  delPod(uid: string): Promise<void> {
    return this.request({ type: 'DelPod', uid });
  }

  snapshot(pods: readonly PodInfo[]): Promise<void> {
    return this.request({ type: 'Snapshot', pods });
  }

  /** Resolves when the agent holds the pod; ENROLL_REJECTED with remoteCode ENROLL_NOT_ENROLLED otherwise. */
  checkPod(uid: string): Promise<void> {
    return this.request({ type: 'CheckPod', uid });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private request(body: Record<string, unknown>): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EnrollError('ENROLL_TIMEOUT', `${this.socketPath}: no answer to ${String(body.type)} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(encodeFrame({ ...body, id }));
    });
  }

  private onReply(reply: Reply): void {
    if (reply.id === null) {
      // An error the agent could not tie to a request: everything waiting fails with it.
      this.fail(new EnrollRejectedError(reply.type === 'Error' ? reply.code : 'ENROLL_REJECTED', `agent: ${reply.type === 'Error' ? reply.message : ''}`));
      return;
    }
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.type === 'Ack') p.resolve();
    else p.reject(new EnrollRejectedError(reply.code, `agent: ${reply.message}`));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}

/** Connects, runs fn, and always closes. */
export async function withEnrollmentClient<T>(
  options: EnrollmentClientOptions,
  fn: (client: EnrollmentClient) => Promise<T>,
): Promise<T> {
  const client = await EnrollmentClient.connect(options);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
