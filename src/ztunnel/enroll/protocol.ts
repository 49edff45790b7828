/**
 * The enrollment protocol between the CNI side and the node agent, modelled
 * on Istio's ZDS (istio.workload.zds): the agent greets with Hello{version},
 * the CNI side sends AddPod / DelPod / Snapshot, and every request is
 * answered with Ack or Error carrying the request id. Differences from ZDS:
 * a Unix *stream* socket with length-prefixed JSON frames (4-byte big-endian
 * length, then UTF-8 JSON), the CNI side is the client, the agent the server,
 * namespaces travel as paths instead of SCM_RIGHTS fds, and a snapshot is
 * one message holding every pod (ZDS streams Adds then SnapshotSent).
 */
import { isIP } from 'node:net';
import { EnrollError } from './errors.js';

export const PROTOCOL_VERSION = 1;
/** Where the agent listens unless configured otherwise. */
export const DEFAULT_SOCKET_PATH = '/var/run/ambit/ztunnel.sock';
/** Upper bound on one frame's JSON; a snapshot of a few thousand pods fits. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
const HEADER_BYTES = 4;

/** A pod as the CNI side describes it. */
export interface PodInfo {
  /** Kubernetes pod UID: the key of everything the agent holds for the pod. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount?: string;
  /** Path of the pod's network namespace file, e.g. /run/netns/<name> or /proc/<pid>/ns/net. */
  readonly netnsPath: string;
  /** Absolute cgroup v2 directory of the pod. */
  readonly cgroupPath: string;
  readonly ips: readonly string[];
}

export type Request =
  | ({ readonly type: 'AddPod'; readonly id: number } & PodInfo)
  | { readonly type: 'DelPod'; readonly id: number; readonly uid: string }
  | { readonly type: 'Snapshot'; readonly id: number; readonly pods: readonly PodInfo[] }
  | { readonly type: 'CheckPod'; readonly id: number; readonly uid: string };

export type Reply =
  | { readonly type: 'Ack'; readonly id: number }
  /** `id` is null when the request's id could not be read. */
  | { readonly type: 'Error'; readonly id: number | null; readonly code: string; readonly message: string };

export interface Hello {
  readonly type: 'Hello';
  readonly version: number;
}

export type ServerMessage = Hello | Reply;

/** Frames one message. */
export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME_BYTES) {
    throw new EnrollError('ENROLL_FRAME_TOO_LARGE', `message of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/**
 * Splits a byte stream into frames. push() returns every complete frame's
 * body; a frame announcing more than MAX_FRAME_BYTES throws, because the
 * stream can no longer be trusted to be in step.
 */
export class FrameDecoder {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  push(chunk: Buffer): Buffer[] {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    const frames: Buffer[] = [];
    let data = Buffer.concat(this.buffered, this.bufferedBytes);
    while (data.length >= HEADER_BYTES) {
      const length = data.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) {
        throw new EnrollError('ENROLL_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
      }
      if (data.length < HEADER_BYTES + length) break;
      frames.push(data.subarray(HEADER_BYTES, HEADER_BYTES + length));
      data = data.subarray(HEADER_BYTES + length);
    }
    this.buffered = data.length > 0 ? [data] : [];
    this.bufferedBytes = data.length;
    return frames;
  }

  /** Bytes of an incomplete frame still waiting. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a frame body as a JSON object. */
export function parseFrame(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new EnrollError('ENROLL_MALFORMED', `frame is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(value)) throw new EnrollError('ENROLL_MALFORMED', 'frame is not a JSON object');
  return value;
}

/** The id of a request, when it has a usable one; used to address an Error reply. */
export function requestId(raw: Record<string, unknown>): number | null {
  return typeof raw.id === 'number' && Number.isSafeInteger(raw.id) && raw.id >= 0 ? raw.id : null;
}

// Same shape the capture layer accepts (it keys pin directories by UID).
const UID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAX_IPS = 16;

function invalid(path: string, what: string): never {
  throw new EnrollError('ENROLL_INVALID_MESSAGE', `${path}: ${what}`);
}

function str(raw: Record<string, unknown>, path: string, key: string, optional = false): string | undefined {
  const v = raw[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0) invalid(`${path}.${key}`, 'must be a non-empty string');
  if (v.length > 4096) invalid(`${path}.${key}`, 'is longer than 4096 characters');
  return v;
}

function absPath(raw: Record<string, unknown>, path: string, key: string): string {
  const v = str(raw, path, key) as string;
  if (!v.startsWith('/') || v.split('/').includes('..') || v.includes('\0')) {
    invalid(`${path}.${key}`, `"${v}" must be an absolute path without ".."`);
  }
  return v;
}

/** Validates a pod description; `path` names it in messages, e.g. `pods[3]`. */
export function decodePodInfo(raw: unknown, path: string): PodInfo {
  if (!isRecord(raw)) return invalid(path, 'must be an object');
  const uid = str(raw, path, 'uid') as string;
  if (!UID_RE.test(uid)) invalid(`${path}.uid`, `"${uid}" is not a pod UID`);
  const ipsRaw = raw.ips;
  if (!Array.isArray(ipsRaw)) invalid(`${path}.ips`, 'must be an array of IP addresses');
  if (ipsRaw.length > MAX_IPS) invalid(`${path}.ips`, `has more than ${MAX_IPS} addresses`);
  const ips = ipsRaw.map((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) invalid(`${path}.ips[${i}]`, `${JSON.stringify(ip)} is not an IP address`);
    return ip;
  });
  const serviceAccount = str(raw, path, 'serviceAccount', true);
  return {
    uid,
    name: str(raw, path, 'name') as string,
    namespace: str(raw, path, 'namespace') as string,
    ...(serviceAccount === undefined ? {} : { serviceAccount }),
    netnsPath: absPath(raw, path, 'netnsPath'),
    cgroupPath: absPath(raw, path, 'cgroupPath'),
    ips,
  };
}

/** Validates a request object; failures carry ENROLL_INVALID_MESSAGE and the field path. */
export function decodeRequest(raw: Record<string, unknown>): Request {
  const id = requestId(raw);
  if (id === null) invalid('id', 'must be a non-negative integer');
  switch (raw.type) {
    case 'AddPod':
      return { type: 'AddPod', id, ...decodePodInfo(raw, 'AddPod') };
    case 'DelPod':
    case 'CheckPod': {
      const uid = str(raw, raw.type, 'uid') as string;
      return { type: raw.type, id, uid };
    }
    case 'Snapshot': {
      if (!Array.isArray(raw.pods)) invalid('Snapshot.pods', 'must be an array');
      const pods = raw.pods.map((p, i) => decodePodInfo(p, `Snapshot.pods[${i}]`));
      const seen = new Set<string>();
      for (const [i, p] of pods.entries()) {
        if (seen.has(p.uid)) invalid(`Snapshot.pods[${i}].uid`, `"${p.uid}" appears twice`);
        seen.add(p.uid);
      }
      return { type: 'Snapshot', id, pods };
    }
    default:
      return invalid('type', `${JSON.stringify(raw.type)} is not one of AddPod, DelPod, Snapshot, CheckPod`);
  }
}

/** Validates what the agent sends (client side). */
export function decodeServerMessage(raw: Record<string, unknown>): ServerMessage {
  switch (raw.type) {
    case 'Hello':
      if (typeof raw.version !== 'number') invalid('Hello.version', 'must be a number');
      return { type: 'Hello', version: raw.version };
    case 'Ack': {
      const id = requestId(raw);
      if (id === null) invalid('Ack.id', 'must be a non-negative integer');
      return { type: 'Ack', id };
    }
    case 'Error': {
      const id = raw.id === null ? null : requestId(raw);
      if (id === null && raw.id !== null) invalid('Error.id', 'must be a non-negative integer or null');
      return {
        type: 'Error',
        id,
        code: typeof raw.code === 'string' ? raw.code : 'ENROLL_REJECTED',
        message: typeof raw.message === 'string' ? raw.message : 'no message',
      };
    }
    default:
      return invalid('type', `${JSON.stringify(raw.type)} is not one of Hello, Ack, Error`);
  }
}
