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
import { posix } from 'node:path';
import { errorMessage } from '../../shared/errors.js';
import { EnrollError } from './errors.js';

export const PROTOCOL_VERSION = 1;
/** Where the agent listens unless configured otherwise. */
export const DEFAULT_SOCKET_PATH = '/var/run/ambit/ztunnel.sock';
/**
 * The protocol's ceiling on one frame's JSON, on both sides: what a client
 * may send and the most an agent may be configured to accept.
 */
export const PROTOCOL_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/**
 * What the agent accepts unless configured otherwise: a snapshot pod is
 * about 300 bytes of JSON, so 1 MiB holds some 3,000 pods (kubelet's default
 * is 110 per node).
 */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Pod cgroups must lie strictly under this directory (the cgroup mount
 * Kubernetes nodes have; kubelet puts pods in kubepods/ or kubepods.slice/
 * below it). The root itself is never accepted.
 */
export const DEFAULT_POD_CGROUP_ROOT = '/sys/fs/cgroup';
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
  if (body.length > PROTOCOL_MAX_FRAME_BYTES) {
    throw new EnrollError('ENROLL_FRAME_TOO_LARGE', `message of ${body.length} bytes exceeds ${PROTOCOL_MAX_FRAME_BYTES}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/**
 * Splits a byte stream into frames. push() returns every complete frame's
 * body; a frame announcing more than `maxFrameBytes` throws
 * ENROLL_FRAME_TOO_LARGE, because the stream can no longer be trusted to be
 * in step (the decoder is unusable afterwards).
 *
 * Memory follows what arrived, never what a header announced: chunks of an
 * incomplete frame are kept as they came and joined once, when the frame is
 * complete, so a peer that announces 1 MiB and sends 10 bytes costs 10 bytes.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Body length of the frame being read, once its header is complete. */
  private bodyBytes: number | undefined;

  constructor(readonly maxFrameBytes: number = PROTOCOL_MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    for (;;) {
      if (this.bodyBytes === undefined) {
        if (this.bufferedBytes < HEADER_BYTES) break;
        const length = this.take(HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxFrameBytes) {
          throw new EnrollError('ENROLL_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds ${this.maxFrameBytes}`);
        }
        this.bodyBytes = length;
      }
      if (this.bufferedBytes < this.bodyBytes) break;
      frames.push(this.take(this.bodyBytes));
      this.bodyBytes = undefined;
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting (its header included). */
  get pendingBytes(): number {
    return this.bufferedBytes + (this.bodyBytes === undefined ? 0 : HEADER_BYTES);
  }

  /** Removes the first `n` buffered bytes (n <= bufferedBytes) as one buffer. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const used = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, used);
        filled += used;
        if (used === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(used);
      }
    }
    this.bufferedBytes -= n;
    return out;
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
    // V8's message quotes the input; keep the reply short whatever was sent.
    throw new EnrollError('ENROLL_MALFORMED', `frame is not JSON: ${errorMessage(err).slice(0, 2 * QUOTE_CHARS)}`);
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
const MAX_STRING_CHARS = 4096;
/** How much of an offending value an error message quotes. */
const QUOTE_CHARS = 80;

/** What request validation needs from the agent's configuration. */
export interface RequestLimits {
  /** Absolute, normalized directory; pod cgroups must lie strictly under it. */
  readonly podCgroupRoot: string;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({ podCgroupRoot: DEFAULT_POD_CGROUP_ROOT });

/** A short, always printable rendering of a value for a message. */
function quote(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? typeof v;
  } catch {
    text = typeof v;
  }
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
}

function invalid(path: string, what: string): never {
  throw new EnrollError('ENROLL_INVALID_MESSAGE', `${path}: ${what}`);
}

function str(raw: Record<string, unknown>, path: string, key: string, optional = false): string | undefined {
  const v = raw[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0) invalid(`${path}.${key}`, 'must be a non-empty string');
  if (v.length > MAX_STRING_CHARS) invalid(`${path}.${key}`, `is longer than ${MAX_STRING_CHARS} characters`);
  return v;
}

function absPath(raw: Record<string, unknown>, path: string, key: string): string {
  const v = str(raw, path, key) as string;
  if (!v.startsWith('/') || v.split('/').includes('..') || v.includes('\0')) {
    invalid(`${path}.${key}`, `${quote(v)} must be an absolute path without ".."`);
  }
  return v;
}

/** Whether `dir` lies strictly below `root` (both absolute; `dir` in normal form). */
function strictlyUnder(dir: string, root: string): boolean {
  const base = root.endsWith('/') ? root : `${root}/`;
  return dir.length > base.length && dir.startsWith(base);
}

function cgroupPath(raw: Record<string, unknown>, path: string, limits: RequestLimits): string {
  const v = absPath(raw, path, 'cgroupPath');
  // The normal form only: "/a/./b" or "/a//b" would name the same directory under another spelling.
  if (posix.normalize(v) !== v || (v.length > 1 && v.endsWith('/'))) {
    invalid(`${path}.cgroupPath`, `${quote(v)} is not in normal form (no ".", "//" or trailing "/")`);
  }
  if (!strictlyUnder(v, limits.podCgroupRoot)) {
    // Attaching capture to the root cgroup (or any cgroup outside the pods')
    // would redirect every process of the node, the agent included.
    invalid(`${path}.cgroupPath`, `${quote(v)} is not under the pod cgroup root ${limits.podCgroupRoot}`);
  }
  return v;
}

/** Validates a pod description; `path` names it in messages, e.g. `pods[3]`. */
export function decodePodInfo(raw: unknown, path: string, limits: RequestLimits = DEFAULT_REQUEST_LIMITS): PodInfo {
  if (!isRecord(raw)) return invalid(path, 'must be an object');
  const uid = str(raw, path, 'uid') as string;
  if (!UID_RE.test(uid)) invalid(`${path}.uid`, `${quote(uid)} is not a pod UID`);
  const ipsRaw = raw.ips;
  if (!Array.isArray(ipsRaw)) invalid(`${path}.ips`, 'must be an array of IP addresses');
  if (ipsRaw.length > MAX_IPS) invalid(`${path}.ips`, `has more than ${MAX_IPS} addresses`);
  const ips = ipsRaw.map((ip: unknown, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) invalid(`${path}.ips[${i}]`, `${quote(ip)} is not an IP address`);
    return ip;
  });
  const serviceAccount = str(raw, path, 'serviceAccount', true);
  return {
    uid,
    name: str(raw, path, 'name') as string,
    namespace: str(raw, path, 'namespace') as string,
    ...(serviceAccount === undefined ? {} : { serviceAccount }),
    netnsPath: absPath(raw, path, 'netnsPath'),
    cgroupPath: cgroupPath(raw, path, limits),
    ips,
  };
}

/**
 * Validates a request object; failures carry ENROLL_INVALID_MESSAGE and the
 * field path. Nothing else is ever thrown, whatever `raw` holds.
 */
export function decodeRequest(raw: Record<string, unknown>, limits: RequestLimits = DEFAULT_REQUEST_LIMITS): Request {
  const id = requestId(raw);
  if (id === null) invalid('id', 'must be a non-negative integer');
  switch (raw.type) {
    case 'AddPod':
      return { type: 'AddPod', id, ...decodePodInfo(raw, 'AddPod', limits) };
    case 'DelPod':
    case 'CheckPod': {
      const uid = str(raw, raw.type, 'uid') as string;
      return { type: raw.type, id, uid };
    }
    case 'Snapshot': {
      if (!Array.isArray(raw.pods)) invalid('Snapshot.pods', 'must be an array');
      const pods = (raw.pods as unknown[]).map((p, i) => decodePodInfo(p, `Snapshot.pods[${i}]`, limits));
      const seen = new Set<string>();
      for (const [i, p] of pods.entries()) {
        if (seen.has(p.uid)) invalid(`Snapshot.pods[${i}].uid`, `"${p.uid}" appears twice`);
        seen.add(p.uid);
      }
      return { type: 'Snapshot', id, pods };
    }
    default:
      return invalid('type', `${quote(raw.type)} is not one of AddPod, DelPod, Snapshot, CheckPod`);
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
      return invalid('type', `${quote(raw.type)} is not one of Hello, Ack, Error`);
  }
}
