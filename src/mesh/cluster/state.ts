/**
 * The cluster's state file: a JSON description of everything a cluster has
 * created (or is about to create), written before each step, so that another
 * process can tear it down after a crash.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ClusterError } from './errors.js';

export const STATE_VERSION = 1;
/** Where state files go unless the caller says otherwise. */
export const DEFAULT_STATE_DIR = '/run/ambit/clusters';

export interface NodeState {
  readonly name: string;
  readonly index: number;
  /** `ip netns` name; the namespace file is /run/netns/<netns>. */
  readonly netns: string;
  readonly ip: string;
  readonly podCidr: string;
  readonly podGateway: string;
  /** Set when the cluster is dual-stack. */
  readonly ip6?: string;
  readonly podCidr6?: string;
  readonly podGateway6?: string;
  /** Absolute cgroup v2 directory for processes started on the node. */
  readonly cgroup: string;
  /** The node's veth end inside the underlay namespace. */
  readonly underlayLink: string;
}

export interface PodState {
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  readonly index: number;
  readonly netns: string;
  readonly ip: string;
  /** Set when the cluster is dual-stack. */
  readonly ip6?: string;
  readonly cgroup: string;
  /** The pod's veth end inside its node's namespace. */
  readonly nodeLink: string;
}

export interface ProcessState {
  readonly pid: number;
  /** The cgroup the process was started in; teardown kills a PID only while it is still there. */
  readonly cgroup: string;
  readonly argv: readonly string[];
}

export interface ClusterState {
  readonly version: number;
  readonly prefix: string;
  readonly createdAt: string;
  readonly ownerPid: number;
  /** The prefix claim (claim.ts) this cluster holds; released by teardown. */
  readonly claimFile?: string;
  readonly cgroupRoot: string;
  /** `<cgroupRoot>/<prefix>`, parent of every node and pod cgroup. */
  readonly cgroupDir: string;
  readonly underlay: { readonly netns: string; readonly bridge: string };
  readonly nodes: readonly NodeState[];
  readonly pods: readonly PodState[];
  readonly processes: readonly ProcessState[];
}

/** Writes the state atomically (temp file then rename) so a reader never sees half a file. */
export function writeState(file: string, state: ClusterState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and checks a state file; a wrong shape fails with the field that is wrong. */
export function readState(file: string): ClusterState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ClusterError('CLUSTER_STATE_INVALID', `${file}: cannot read cluster state`, { cause: err });
  }
  const fail = (field: string): never => {
    throw new ClusterError('CLUSTER_STATE_INVALID', `${file}: ${field} is missing or has the wrong type`);
  };
  if (!isRecord(raw)) return fail('(root)');
  if (raw.version !== STATE_VERSION) return fail('version');
  for (const f of ['prefix', 'createdAt', 'cgroupRoot', 'cgroupDir'] as const) {
    if (typeof raw[f] !== 'string') fail(f);
  }
  if (!/^[a-z0-9-]+$/.test(raw.prefix as string)) fail('prefix');
  const u = raw.underlay;
  if (!isRecord(u) || typeof u.netns !== 'string' || typeof u.bridge !== 'string') fail('underlay');
  for (const f of ['nodes', 'pods', 'processes'] as const) {
    if (!Array.isArray(raw[f])) fail(f);
  }
  const strings = (list: unknown[], field: string, keys: readonly string[]): void => {
    list.forEach((item, i) => {
      if (!isRecord(item)) fail(`${field}[${i}]`);
      for (const k of keys) if (typeof (item as Record<string, unknown>)[k] !== 'string') fail(`${field}[${i}].${k}`);
    });
  };
  strings(raw.nodes as unknown[], 'nodes', ['name', 'netns', 'cgroup', 'underlayLink']);
  strings(raw.pods as unknown[], 'pods', ['name', 'node', 'netns', 'cgroup']);
  (raw.processes as unknown[]).forEach((p, i) => {
    if (!isRecord(p) || typeof p.pid !== 'number' || typeof p.cgroup !== 'string') fail(`processes[${i}]`);
  });
  return raw as unknown as ClusterState;
}
