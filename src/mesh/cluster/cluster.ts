/**
 * A Kubernetes-shaped cluster on one machine, built from network namespaces:
 * an underlay namespace with a bridge, one namespace per node (veth to the
 * bridge, a /24 pod CIDR, routes to the other nodes' pod CIDRs, forwarding
 * on), and one namespace plus one cgroup v2 directory per pod (a veth to its
 * node, a /32 address, default route through the node). Everything is named
 * `<prefix>-…` and recorded in a state file before it is created, so a crash
 * leaves something another process can remove.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AddressPlan, nodeIp6, podCidr6, podGateway6, podIp6, type AddressPlanOptions } from './address-plan.js';
import { mustRun, type CommandResult } from './command.js';
import { ClusterError } from './errors.js';
import { execIn, spawnIn, stopProcess, type ClusterProcess, type Placement, type SpawnOptions } from './processes.js';
import { DEFAULT_STATE_DIR, STATE_VERSION, readState, writeState, type ClusterState, type NodeState, type PodState, type ProcessState } from './state.js';
import { DEFAULT_CLAIM_DIR, claimPrefix } from './claim.js';
import { DEFAULT_CGROUP_ROOT, deleteNetns, findLeftovers, listNetns, removeCgroup, teardownState } from './teardown.js';

export interface ClusterOptions {
  /** Name prefix of every namespace and cgroup; `ambit-<random>` by default. */
  readonly prefix?: string;
  readonly nodes: number;
  /** Pods created on every node at start, named `<node>-p<j>`. */
  readonly podsPerNode?: number;
  readonly cgroupRoot?: string;
  readonly stateDir?: string;
  /** Where prefix claims live (claim.ts); DEFAULT_CLAIM_DIR by default. */
  readonly claimDir?: string;
  readonly addresses?: AddressPlanOptions;
  /** Also give nodes and pods IPv6 (ULA) addresses and routes. Default false. */
  readonly ipv6?: boolean;
  /**
   * Tear down on SIGINT/SIGTERM and at process exit (default true). Set it
   * to false for a cluster meant to outlive its creator; the state file then
   * is the way to remove it.
   */
  readonly teardownOnExit?: boolean;
}

/** A node as callers see it. */
export interface ClusterNode {
  readonly name: string;
  readonly index: number;
  readonly ip: string;
  readonly podCidr: string;
  /** Present in a dual-stack cluster. */
  readonly ip6?: string;
  readonly podCidr6?: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly cgroup: string;
}

/** A pod as callers see it; `uid` is a fresh UUID, as Kubernetes assigns. */
export interface ClusterPod {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly node: string;
  readonly ip: string;
  /** Present in a dual-stack cluster. */
  readonly ip6?: string;
  /** Every address of the pod: IPv4 first. */
  readonly ips: readonly string[];
  readonly netns: string;
  readonly netnsPath: string;
  readonly cgroup: string;
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PREFIX_RE = /^[a-z0-9][a-z0-9-]{0,23}$/;
/** Kubernetes namespace of the pods the cluster creates. */
export const POD_NAMESPACE = 'default';
const BRIDGE = 'br0';

export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}

const live = new Set<NetnsCluster>();
let handlersInstalled = false;

function onSignal(signal: NodeJS.Signals): void {
  teardownAllSync();
  removeHandlers();
  // Our teardown must not swallow the signal: with no other listener left,
  // re-raise it so the process ends the way it would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');
const onExit = (): void => teardownAllSync();

function teardownAllSync(): void {
  for (const c of [...live]) {
    try {
      c.destroySync();
    } catch (err) {
      // The process is ending: stderr is the only place left to say what leaked.
      process.stderr.write(`ambit: cluster ${c.prefix} teardown: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('exit', onExit);
  handlersInstalled = true;
}

function removeHandlers(): void {
  if (!handlersInstalled) return;
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  process.off('exit', onExit);
  handlersInstalled = false;
}

export class NetnsCluster {
  readonly prefix: string;
  readonly stateFile: string;
  readonly plan: AddressPlan;
  private state: ClusterState;
  private readonly processes = new Map<number, ClusterProcess>();
  private readonly tracked: boolean;
  private readonly ipv6: boolean;
  private destroyed = false;

  /** Use createCluster(); the constructor only records the empty state. */
  constructor(
    prefix: string,
    plan: AddressPlan,
    cgroupRoot: string,
    stateDir: string,
    tracked: boolean,
    ipv6 = false,
    claimDir: string = DEFAULT_CLAIM_DIR,
    reopen?: { readonly state: ClusterState; readonly stateFile: string },
  ) {
    this.prefix = prefix;
    this.ipv6 = ipv6;
    this.plan = plan;
    this.stateFile = reopen?.stateFile ?? join(stateDir, `${prefix}.json`);
    this.tracked = tracked;
    if (reopen !== undefined) {
      // Another process built it and holds its claim; this one only adds and removes pods.
      this.state = reopen.state;
      return;
    }
    // Before anything is named with the prefix: refuses one another cluster holds.
    const claim = claimPrefix(prefix, this.stateFile, claimDir, () => findLeftovers(prefix, cgroupRoot));
    this.state = {
      version: STATE_VERSION,
      prefix,
      createdAt: new Date().toISOString(),
      ownerPid: process.pid,
      claimFile: claim,
      cgroupRoot,
      cgroupDir: join(cgroupRoot, prefix),
      underlay: { netns: `${prefix}-underlay`, bridge: BRIDGE },
      nodes: [],
      pods: [],
      processes: [],
    };
    writeState(this.stateFile, this.state);
    if (tracked) {
      live.add(this);
      installHandlers();
    }
  }

  get nodes(): readonly ClusterNode[] {
    return this.state.nodes.map((n) => this.nodeView(n));
  }

  get pods(): readonly ClusterPod[] {
    return this.state.pods.map((p) => this.podView(p));
  }

  /** `<cgroupRoot>/<prefix>`: every node and pod cgroup lies below it. */
  get cgroupDir(): string {
    return this.state.cgroupDir;
  }

  get underlayNetns(): string {
    return this.state.underlay.netns;
  }

  node(name: string): ClusterNode {
    return this.nodeView(this.nodeState(name));
  }

  pod(name: string): ClusterPod {
    const p = this.state.pods.find((x) => x.name === name);
    if (p === undefined) throw new ClusterError('CLUSTER_NOT_FOUND', `cluster ${this.prefix}: no pod "${name}"`);
    return this.podView(p);
  }

  /** @internal Builds the underlay and the nodes; createCluster() calls it. */
  async build(nodeCount: number): Promise<void> {
    const u = this.state.underlay.netns;
    mkdirSync(this.state.cgroupDir, { recursive: true });
    await mustRun(['ip', 'netns', 'add', u]);
    await mustRun(['ip', '-n', u, 'link', 'set', 'lo', 'up']);
    await mustRun(['ip', '-n', u, 'link', 'add', BRIDGE, 'type', 'bridge']);
    await mustRun(['ip', '-n', u, 'link', 'set', BRIDGE, 'up']);
    for (let i = 0; i < nodeCount; i++) await this.addNode(i);
    for (const n of this.state.nodes) {
      for (const other of this.state.nodes) {
        if (other.name === n.name) continue;
        await mustRun(['ip', '-n', n.netns, 'route', 'add', other.podCidr, 'via', other.ip, 'dev', 'eth0']);
        if (other.podCidr6 !== undefined && other.ip6 !== undefined) {
          await mustRun(['ip', '-n', n.netns, '-6', 'route', 'add', other.podCidr6, 'via', other.ip6, 'dev', 'eth0']);
        }
      }
    }
  }

  private async addNode(index: number): Promise<void> {
    const name = `node${index}`;
    const node: NodeState = {
      name,
      index,
      netns: `${this.prefix}-${name}`,
      ip: this.plan.nodeIp(index),
      podCidr: this.plan.podCidr(index),
      podGateway: this.plan.podGateway(index),
      cgroup: join(this.state.cgroupDir, `node.${name}`),
      underlayLink: `vn${index}`,
      ...(this.ipv6 ? { ip6: nodeIp6(index), podCidr6: podCidr6(index), podGateway6: podGateway6(index) } : {}),
    };
    this.update({ nodes: [...this.state.nodes, node] });
    const u = this.state.underlay.netns;
    await mustRun(['ip', 'netns', 'add', node.netns]);
    if (this.ipv6) await this.skipDad(node.netns);
    await mustRun(['ip', '-n', node.netns, 'link', 'set', 'lo', 'up']);
    await mustRun(['ip', '-n', node.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', node.underlayLink, 'netns', u]);
    await mustRun(['ip', '-n', u, 'link', 'set', node.underlayLink, 'master', BRIDGE]);
    await mustRun(['ip', '-n', u, 'link', 'set', node.underlayLink, 'up']);
    await mustRun(['ip', '-n', node.netns, 'addr', 'add', `${node.ip}/${this.plan.nodeSubnet.prefixLength}`, 'dev', 'eth0']);
    await mustRun(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up']);
    await mustRun(['ip', 'netns', 'exec', node.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    if (node.ip6 !== undefined) {
      await mustRun(['ip', 'netns', 'exec', node.netns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      // nodad: duplicate address detection would hold the address back for a second or more.
      await mustRun(['ip', '-n', node.netns, '-6', 'addr', 'add', `${node.ip6}/64`, 'dev', 'eth0', 'nodad']);
    }
    mkdirSync(node.cgroup, { recursive: true });
  }

  /**
   * Turns duplicate address detection off for links created later in the
   * namespace: nobody else can own an address inside it, and DAD would
   * hold link-local addresses (and so neighbour discovery) back for seconds.
   */
  private async skipDad(netns: string): Promise<void> {
    await mustRun(['ip', 'netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  }

  /** Adds a pod on a node: namespace, veth, /32 address, default route, cgroup. */
  async addPod(nodeName: string, name: string): Promise<ClusterPod> {
    this.checkLive();
    if (!NAME_RE.test(name)) {
      throw new ClusterError('CLUSTER_INVALID_NAME', `pod name "${name}" is not a DNS label of at most 63 characters`);
    }
    if (this.state.pods.some((p) => p.name === name)) {
      throw new ClusterError('CLUSTER_INVALID_NAME', `cluster ${this.prefix}: pod "${name}" exists`);
    }
    const node = this.nodeState(nodeName);
    const index = this.freePodIndex(nodeName);
    const pod: PodState = {
      name,
      uid: randomUUID(),
      node: nodeName,
      index,
      netns: `${this.prefix}-pod-${name}`,
      ip: this.plan.podIp(node.index, index),
      cgroup: join(this.state.cgroupDir, name),
      nodeLink: `vp${index}`,
      ...(node.podGateway6 !== undefined ? { ip6: podIp6(node.index, index) } : {}),
    };
    this.update({ pods: [...this.state.pods, pod] });
    const ns = pod.netns;
    await mustRun(['ip', 'netns', 'add', ns]);
    if (this.ipv6) await this.skipDad(ns);
    await mustRun(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await mustRun(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', pod.nodeLink, 'netns', node.netns]);
    await mustRun(['ip', '-n', ns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
    await mustRun(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await mustRun(['ip', '-n', ns, 'route', 'add', node.podGateway, 'dev', 'eth0', 'scope', 'link']);
    await mustRun(['ip', '-n', ns, 'route', 'add', 'default', 'via', node.podGateway, 'dev', 'eth0']);
    // The gateway address sits on every pod-facing veth of the node; each
    // pod is reached through its own /32 route.
    await mustRun(['ip', '-n', node.netns, 'addr', 'add', `${node.podGateway}/32`, 'dev', pod.nodeLink]);
    await mustRun(['ip', '-n', node.netns, 'link', 'set', pod.nodeLink, 'up']);
    await mustRun(['ip', '-n', node.netns, 'route', 'add', `${pod.ip}/32`, 'dev', pod.nodeLink]);
    if (pod.ip6 !== undefined && node.podGateway6 !== undefined) {
      await mustRun(['ip', '-n', ns, '-6', 'addr', 'add', `${pod.ip6}/128`, 'dev', 'eth0', 'nodad']);
      await mustRun(['ip', '-n', ns, '-6', 'route', 'add', node.podGateway6, 'dev', 'eth0']);
      await mustRun(['ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', node.podGateway6, 'dev', 'eth0']);
      await mustRun(['ip', '-n', node.netns, '-6', 'addr', 'add', `${node.podGateway6}/128`, 'dev', pod.nodeLink, 'nodad']);
      await mustRun(['ip', '-n', node.netns, '-6', 'route', 'add', `${pod.ip6}/128`, 'dev', pod.nodeLink]);
    }
    mkdirSync(pod.cgroup, { recursive: true });
    return this.podView(pod);
  }

  /**
   * Removes one pod: kills what runs in its cgroup, deletes its namespace
   * (which takes the veth pair and the node's route along) and its cgroup.
   * Its address is free for the next pod on the node.
   */
  removePod(name: string): void {
    this.checkLive();
    const pod = this.state.pods.find((p) => p.name === name);
    if (pod === undefined) throw new ClusterError('CLUSTER_NOT_FOUND', `cluster ${this.prefix}: no pod "${name}"`);
    const problems = [removeCgroup(pod.cgroup), deleteNetns(pod.netns, new Set(listNetns()))].filter((p) => p !== undefined);
    if (problems.length > 0) throw new ClusterError('CLUSTER_TEARDOWN_INCOMPLETE', `pod ${name}: ${problems.join('; ')}`);
    this.update({ pods: this.state.pods.filter((p) => p.name !== name) });
  }

  /** The lowest pod index (address and veth name) no pod on the node uses. */
  private freePodIndex(nodeName: string): number {
    const used = new Set(this.state.pods.filter((p) => p.node === nodeName).map((p) => p.index));
    let i = 0;
    while (used.has(i)) i++;
    return i;
  }

  /** Runs argv inside a pod (its namespace and cgroup) to completion. */
  execInPod(pod: string, argv: readonly string[], options?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CommandResult> {
    this.checkLive();
    return execIn(this.podPlacement(pod), argv, options);
  }

  /** Runs argv inside a node namespace (and the node's cgroup) to completion. */
  execInNode(node: string, argv: readonly string[], options?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CommandResult> {
    this.checkLive();
    return execIn(this.nodePlacement(node), argv, options);
  }

  /** Starts a long-running process inside a pod; stop it with stopProcess(pid). */
  spawnInPod(pod: string, argv: readonly string[], options?: SpawnOptions): ClusterProcess {
    return this.track(spawnIn(this.podPlacement(pod), argv, options));
  }

  /** Starts a long-running process inside a node namespace, e.g. the node agent. */
  spawnInNode(node: string, argv: readonly string[], options?: SpawnOptions): ClusterProcess {
    return this.track(spawnIn(this.nodePlacement(node), argv, options));
  }

  /** Stops a process this cluster started: SIGTERM, then SIGKILL after graceMs. */
  async stopProcess(pid: number, graceMs?: number): Promise<void> {
    const p = this.processes.get(pid);
    if (p === undefined) throw new ClusterError('CLUSTER_NOT_FOUND', `cluster ${this.prefix}: no process ${pid}`);
    await stopProcess(p, graceMs);
  }

  /** Removes everything the cluster made. Safe to call twice. */
  async destroy(): Promise<void> {
    const running = [...this.processes.values()];
    await Promise.all(running.map((p) => stopProcess(p, 500).catch(() => undefined)));
    this.destroySync();
  }

  /** @internal The synchronous teardown signal and exit handlers use. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    if (live.size === 0) removeHandlers();
    teardownState(this.state, this.stateFile);
  }

  private track(p: ClusterProcess): ClusterProcess {
    this.processes.set(p.pid, p);
    const record: ProcessState = { pid: p.pid, cgroup: p.cgroup, argv: p.argv };
    this.update({ processes: [...this.state.processes, record] });
    void p.exited.then(() => {
      this.processes.delete(p.pid);
      if (!this.destroyed) this.update({ processes: this.state.processes.filter((x) => x.pid !== p.pid) });
    });
    return p;
  }

  private podPlacement(name: string): Placement {
    this.checkLive();
    const p = this.pod(name);
    return { netnsPath: p.netnsPath, cgroup: p.cgroup };
  }

  private nodePlacement(name: string): Placement {
    this.checkLive();
    const n = this.nodeState(name);
    return { netnsPath: netnsPath(n.netns), cgroup: n.cgroup };
  }

  private nodeState(name: string): NodeState {
    const n = this.state.nodes.find((x) => x.name === name);
    if (n === undefined) throw new ClusterError('CLUSTER_NOT_FOUND', `cluster ${this.prefix}: no node "${name}"`);
    return n;
  }

  private nodeView(n: NodeState): ClusterNode {
    return {
      name: n.name,
      index: n.index,
      ip: n.ip,
      podCidr: n.podCidr,
      ...(n.ip6 !== undefined && n.podCidr6 !== undefined ? { ip6: n.ip6, podCidr6: n.podCidr6 } : {}),
      netns: n.netns,
      netnsPath: netnsPath(n.netns),
      cgroup: n.cgroup,
    };
  }

  private podView(p: PodState): ClusterPod {
    return {
      name: p.name,
      uid: p.uid,
      namespace: POD_NAMESPACE,
      node: p.node,
      ip: p.ip,
      ...(p.ip6 !== undefined ? { ip6: p.ip6 } : {}),
      ips: p.ip6 === undefined ? [p.ip] : [p.ip, p.ip6],
      netns: p.netns,
      netnsPath: netnsPath(p.netns),
      cgroup: p.cgroup,
    };
  }

  private update(change: Partial<ClusterState>): void {
    this.state = { ...this.state, ...change };
    writeState(this.stateFile, this.state);
  }

  private checkLive(): void {
    if (this.destroyed) throw new ClusterError('CLUSTER_DESTROYED', `cluster ${this.prefix} was destroyed`);
  }

  /** @internal For the not-tracked case: whether teardown handlers cover this cluster. */
  get teardownOnExit(): boolean {
    return this.tracked;
  }
}

async function hostRoutes(): Promise<string[]> {
  const out = await mustRun(['ip', '-j', '-4', 'route', 'show', 'table', 'all']);
  const routes = JSON.parse(out) as { dst?: unknown; type?: unknown }[];
  return routes
    .filter((r) => r.type === undefined || r.type === 'unicast')
    .map((r) => (typeof r.dst === 'string' ? r.dst : ''))
    .filter((d) => d !== '');
}

/**
 * Opens a cluster another process built (e.g. `ambit mesh up`), from its
 * state file, to add and remove pods. Its teardown stays with the state
 * file: this object installs no exit handlers and `destroy` is not for it.
 */
export function openCluster(stateFile: string): NetnsCluster {
  const state = readState(stateFile);
  const plan = new AddressPlan();
  for (const n of state.nodes) {
    if (plan.nodeIp(n.index) !== n.ip || plan.podCidr(n.index) !== n.podCidr) {
      throw new ClusterError('CLUSTER_STATE_INVALID', `${stateFile}: node ${n.name} does not use the default address plan; it cannot be reopened`);
    }
  }
  const ipv6 = state.nodes.some((n) => n.ip6 !== undefined);
  return new NetnsCluster(state.prefix, plan, state.cgroupRoot, '', false, ipv6, DEFAULT_CLAIM_DIR, { state, stateFile });
}

/**
 * Builds a cluster. On any failure everything made so far is removed before
 * the error propagates.
 */
export async function createCluster(options: ClusterOptions): Promise<NetnsCluster> {
  if (process.getuid?.() !== 0) {
    throw new ClusterError('CLUSTER_NOT_ROOT', 'creating network namespaces needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)');
  }
  const prefix = options.prefix ?? `ambit-${randomBytes(4).toString('hex')}`;
  if (!PREFIX_RE.test(prefix)) {
    throw new ClusterError('CLUSTER_INVALID_NAME', `prefix "${prefix}" must be lowercase letters, digits and '-', at most 24 characters`);
  }
  const plan = new AddressPlan(options.addresses);
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > plan.maxNodes) {
    throw new ClusterError('CLUSTER_INVALID_NAME', `nodes: ${options.nodes} is outside 1..${plan.maxNodes}`);
  }
  plan.checkAgainstRoutes(await hostRoutes());
  const cluster = new NetnsCluster(
    prefix,
    plan,
    options.cgroupRoot ?? DEFAULT_CGROUP_ROOT,
    options.stateDir ?? DEFAULT_STATE_DIR,
    options.teardownOnExit ?? true,
    options.ipv6 ?? false,
    options.claimDir ?? DEFAULT_CLAIM_DIR,
  );
  try {
    await cluster.build(options.nodes);
    for (const n of cluster.nodes) {
      for (let j = 0; j < (options.podsPerNode ?? 0); j++) await cluster.addPod(n.name, `${n.name}-p${j}`);
    }
  } catch (err) {
    try {
      cluster.destroySync();
    } catch (cleanupErr) {
      throw new AggregateError([err, cleanupErr], `cluster ${prefix}: creation failed and so did cleanup`, {
        cause: cleanupErr,
      });
    }
    throw err;
  }
  return cluster;
}
