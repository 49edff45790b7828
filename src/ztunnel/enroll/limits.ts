/**
 * The enrollment socket's limits. The socket is root-only on a real node,
 * but whatever reaches it (a buggy plugin, a compromised host process) must
 * not be able to hold the agent's memory or descriptors, nor point capture
 * at a cgroup that is not a pod's.
 */
import { posix } from 'node:path';
import { EnrollError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_POD_CGROUP_ROOT, PROTOCOL_MAX_FRAME_BYTES } from './protocol.js';

/**
 * A connection with no request in flight and no byte received for this long
 * is closed. The CNI plugin sends one request per invocation and `ambit
 * mesh` one per pod, so a minute is generous; a client holding a connection
 * for longer reconnects.
 */
export const DEFAULT_ENROLL_IDLE_TIMEOUT_MS = 60_000;
/**
 * Concurrent connections: kubelet starts pods in parallel (each a plugin
 * invocation); 64 is far above that and bounds the worst case to
 * 64 × maxFrameBytes of buffered input.
 */
export const DEFAULT_ENROLL_MAX_CONNECTIONS = 64;

export interface EnrollmentLimits {
  readonly idleTimeoutMs: number;
  /** Largest frame body accepted, at most PROTOCOL_MAX_FRAME_BYTES. */
  readonly maxFrameBytes: number;
  readonly maxConnections: number;
  /** Pod cgroups must lie strictly under this absolute directory. */
  readonly podCgroupRoot: string;
}

export const DEFAULT_ENROLLMENT_LIMITS: EnrollmentLimits = Object.freeze({
  idleTimeoutMs: DEFAULT_ENROLL_IDLE_TIMEOUT_MS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxConnections: DEFAULT_ENROLL_MAX_CONNECTIONS,
  podCgroupRoot: DEFAULT_POD_CGROUP_ROOT,
});

function bad(field: string, value: unknown, why: string): never {
  throw new EnrollError('ENROLL_BAD_LIMIT', `enrollment ${field} ${JSON.stringify(value)}: ${why}`);
}

/** Fills defaults and checks every limit; a bad value names the field, the value and the reason. */
export function resolveEnrollmentLimits(partial: Partial<EnrollmentLimits> = {}): EnrollmentLimits {
  const l = { ...DEFAULT_ENROLLMENT_LIMITS, ...partial };
  const positive = (field: keyof EnrollmentLimits, v: number, max: number): void => {
    if (!Number.isSafeInteger(v) || v <= 0 || v > max) bad(field, v, `must be an integer in 1..${max}`);
  };
  positive('idleTimeoutMs', l.idleTimeoutMs, 2 ** 31 - 1);
  positive('maxFrameBytes', l.maxFrameBytes, PROTOCOL_MAX_FRAME_BYTES);
  positive('maxConnections', l.maxConnections, 65_535);
  const root = l.podCgroupRoot;
  if (!root.startsWith('/') || posix.normalize(root) !== root || root.split('/').includes('..')) {
    bad('podCgroupRoot', root, 'must be an absolute path in normal form');
  }
  const trimmed = root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root;
  return Object.freeze({ ...l, podCgroupRoot: trimmed });
}
