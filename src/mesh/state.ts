/**
 * What `ambit mesh up` made, recorded in `<state-dir>/mesh.json` so that
 * `status`, `exec`, `apply` and `down` work from another shell and after a
 * crash. Written atomically (temp file + rename).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmbitError } from '../shared/errors.js';

export const MESH_STATE_FILE = 'mesh.json';
export const DEFAULT_MESH_STATE_DIR = '.ambit/mesh';

export class MeshError extends AmbitError {}

export interface ProcessRecord {
  readonly pid: number;
  readonly log: string;
  /** The command line it was started with: `mesh up` restarts a dead process with the same. */
  readonly argv?: readonly string[];
}

export interface AgentRecord extends ProcessRecord {
  readonly node: string;
  readonly instance: string;
  readonly enrollSocket: string;
  readonly adminAddress: string;
  readonly statsAddress: string;
  readonly readinessAddress: string;
}

/** One container process of a workload pod. */
export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  /** How the image runs: a built-in stand-in, or the container's command as a host process. */
  readonly run: 'standin' | 'host-command';
  /** The command line run inside the pod (for restarts) and its log. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly log: string;
  readonly pid: number;
  /** TCP containerPorts: the pod is ready once something listens on each. */
  readonly ports: readonly number[];
  /** Named containerPorts (a Service's `targetPort` may name one). */
  readonly portNames?: Readonly<Record<string, number>>;
}

/** What made a workload pod: a Deployment (and its template hash) or a Pod object. */
export interface PodOwner {
  readonly kind: 'Deployment' | 'Pod';
  readonly name: string;
  /** `pod-template-hash` of a Deployment's pod; a digest of the spec for a Pod. */
  readonly templateHash: string;
}

export interface PodRecord {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly uid: string;
  readonly ips: readonly string[];
  readonly netns: string;
  readonly netnsPath: string;
  readonly cgroup: string;
  readonly app: string;
  readonly serviceAccount: string;
  readonly enrolled: boolean;
  readonly appPid?: number;
  /** The demo app's command line (run inside the pod) and its log. */
  readonly appArgv?: readonly string[];
  readonly appLog?: string;
  /** Set for pods made from applied Deployments and Pods (absent: the built-in demo's). */
  readonly owner?: PodOwner;
  readonly labels?: Readonly<Record<string, string>>;
  readonly containers?: readonly ContainerRecord[];
  /** Its Pod manifest in istiod's config directory (a base name). */
  readonly configFile?: string;
  readonly createdAt?: string;
  /** Its name in the netns cluster when the pod name was taken there by another namespace's pod. */
  readonly clusterName?: string;
}

export interface MeshState {
  readonly version: 1;
  readonly prefix: string;
  readonly createdAt: string;
  readonly clusterStateFile: string;
  readonly configDir: string;
  readonly caDir: string;
  readonly istiod: ProcessRecord & {
    readonly grpcAddress: string;
    readonly secureGrpcAddress: string;
    readonly monitoringAddress: string;
  };
  readonly agents: readonly AgentRecord[];
  readonly pods: readonly PodRecord[];
  /** Service name -> VIP, for the pods' /etc/hosts. */
  readonly services: Readonly<Record<string, string>>;
  /** Directories under /etc/netns made for the pods' name resolution. */
  readonly etcNetnsDirs: readonly string[];
  /** Cluster IPs the mesh gave applied Services without one: `namespace/name` -> IP. */
  readonly clusterIps?: Readonly<Record<string, string>>;
  /** `--cert-ttl` given to `mesh up` (istiod's cert TTL and cap, the agents' secret TTL); absent: defaults. */
  readonly certTtl?: string;
}

export function stateFile(stateDir: string): string {
  return join(stateDir, MESH_STATE_FILE);
}

export function readMeshState(stateDir: string): MeshState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MeshError('MESH_STATE_UNREADABLE', `${stateFile(stateDir)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const state = JSON.parse(text) as MeshState;
    if (state.version !== 1) throw new Error(`version ${String(state.version)} is not 1`);
    return state;
  } catch (err) {
    throw new MeshError('MESH_STATE_UNREADABLE', `${stateFile(stateDir)}: not a mesh state file: ${(err as Error).message}`, { cause: err });
  }
}

export function writeMeshState(stateDir: string, state: MeshState): void {
  mkdirSync(stateDir, { recursive: true });
  const tmp = `${stateFile(stateDir)}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile(stateDir));
}

/**
 * Whether a process runs. A killed process whose parent is gone may linger
 * as a zombie until something reaps it, and signal 0 still reaches a
 * zombie: /proc tells them apart.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
