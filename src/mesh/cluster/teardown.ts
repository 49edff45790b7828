/**
 * Removing a cluster, from a live object or from its state file, and the
 * leak check. Synchronous on purpose: it also runs from exit and signal
 * handlers, where the event loop may never turn again.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommandSync } from './command.js';
import { ClusterError } from './errors.js';
import { releasePrefix } from './claim.js';
import { readState, removeState, type ClusterState } from './state.js';

/** The cgroup v2 mount the cluster uses unless told otherwise. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup/unified';
/** How long teardown waits for a killed cgroup to empty. */
const CGROUP_DRAIN_MS = 3_000;

/** What still exists with a prefix: empty lists mean nothing leaked. */
export interface Leftovers {
  readonly netns: readonly string[];
  readonly links: readonly string[];
  readonly cgroups: readonly string[];
}

export function hasLeftovers(l: Leftovers): boolean {
  return l.netns.length + l.links.length + l.cgroups.length > 0;
}

function ownedBy(prefix: string, name: string): boolean {
  return name === prefix || name.startsWith(`${prefix}-`);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Names from `ip netns list` (which prints "name (id: N)" when an id is assigned). */
export function listNetns(): string[] {
  const r = runCommandSync(['ip', 'netns', 'list']);
  if (r.code !== 0) throw new ClusterError('CLUSTER_COMMAND_FAILED', `ip netns list: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function listHostLinks(): string[] {
  const r = runCommandSync(['ip', '-j', 'link', 'show']);
  if (r.code !== 0) throw new ClusterError('CLUSTER_COMMAND_FAILED', `ip -j link show: ${r.stderr.trim()}`);
  const links = JSON.parse(r.stdout) as { ifname?: unknown }[];
  return links.map((l) => (typeof l.ifname === 'string' ? l.ifname : '')).filter((n) => n !== '');
}

/** Everything on the machine whose name carries the prefix: network namespaces, host links, cgroups. */
export function findLeftovers(prefix: string, cgroupRoot = DEFAULT_CGROUP_ROOT): Leftovers {
  const cgroups = existsSync(cgroupRoot)
    ? readdirSync(cgroupRoot, { withFileTypes: true })
        .filter((d) => d.isDirectory() && ownedBy(prefix, d.name))
        .map((d) => join(cgroupRoot, d.name))
    : [];
  return {
    netns: listNetns().filter((n) => ownedBy(prefix, n)),
    links: listHostLinks().filter((n) => ownedBy(prefix, n)),
    cgroups,
  };
}

function processCgroup(pid: number): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

/** Kills every process in a cgroup (cgroup.kill, Linux 5.14+) and waits for it to empty. */
function drainCgroup(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    // Older kernels lack cgroup.kill: signal each member instead.
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  const deadline = Date.now() + CGROUP_DRAIN_MS;
  while (Date.now() < deadline) {
    if (readFileSync(join(dir, 'cgroup.events'), 'utf8').includes('populated 0')) return undefined;
    sleepSync(20);
  }
  return `${dir}: processes still running after ${CGROUP_DRAIN_MS} ms`;
}

/** Kills what runs in a cgroup and removes it; returns the problem, if any. */
export function removeCgroup(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const problem = drainCgroup(dir);
  if (problem !== undefined) return problem;
  try {
    rmdirSync(dir);
    return undefined;
  } catch (err) {
    return `${dir}: ${(err as Error).message}`;
  }
}

export function deleteNetns(name: string, existing: ReadonlySet<string>): string | undefined {
  if (!existing.has(name)) return undefined;
  const r = runCommandSync(['ip', 'netns', 'delete', name]);
  return r.code === 0 ? undefined : `netns ${name}: ${r.stderr.trim()}`;
}

/**
 * Removes everything a state describes: processes (through their cgroups
 * and by PID while the PID is still in one of the cluster's cgroups, so a
 * reused PID is never hit), pod, node and underlay namespaces (which takes
 * their veths along), the cgroups and the state file. Every step runs even
 * when an earlier one failed; the problems are reported together.
 */
export function teardownState(state: ClusterState, stateFile?: string): void {
  const problems: string[] = [];
  const inCluster = (dir: string): boolean => dir === state.cgroupDir || dir.startsWith(`${state.cgroupDir}/`);
  if (!ownedBy(state.prefix, state.cgroupDir.slice(state.cgroupRoot.length + 1))) {
    throw new ClusterError('CLUSTER_STATE_INVALID', `cgroupDir ${state.cgroupDir} is not named after prefix ${state.prefix}`);
  }
  for (const p of state.processes) {
    const cg = processCgroup(p.pid);
    if (cg !== undefined && inCluster(join(state.cgroupRoot, cg))) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }
  const cgroups = [...state.pods.map((p) => p.cgroup), ...state.nodes.map((n) => n.cgroup)].filter(inCluster);
  for (const dir of cgroups) {
    const problem = removeCgroup(dir);
    if (problem !== undefined) problems.push(problem);
  }
  let existing: Set<string>;
  try {
    existing = new Set(listNetns());
  } catch (err) {
    problems.push((err as Error).message);
    existing = new Set();
  }
  const namespaces = [...state.pods.map((p) => p.netns), ...state.nodes.map((n) => n.netns), state.underlay.netns];
  for (const ns of namespaces.filter((n) => ownedBy(state.prefix, n))) {
    const problem = deleteNetns(ns, existing);
    if (problem !== undefined) problems.push(problem);
  }
  // Anything else under the cluster's cgroup (e.g. a pod whose record was never written).
  if (existsSync(state.cgroupDir)) {
    for (const d of readdirSync(state.cgroupDir, { withFileTypes: true })) {
      if (d.isDirectory()) {
        const problem = removeCgroup(join(state.cgroupDir, d.name));
        if (problem !== undefined) problems.push(problem);
      }
    }
    const problem = removeCgroup(state.cgroupDir);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) {
    throw new ClusterError('CLUSTER_TEARDOWN_INCOMPLETE', `cluster ${state.prefix}: ${problems.join('; ')}`);
  }
  // The prefix is free again only once nothing is named with it.
  if (state.claimFile !== undefined && stateFile !== undefined) releasePrefix(state.claimFile, stateFile);
  if (stateFile !== undefined) removeState(stateFile);
}

/** Tears down the cluster a state file describes, e.g. after its owner crashed. */
export function destroyClusterFromState(stateFile: string): void {
  teardownState(readState(stateFile), stateFile);
}
