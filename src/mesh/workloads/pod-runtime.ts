/**
 * Making and removing one workload pod of the local mesh: its network
 * namespace and cgroup in the netns cluster, its hosts file, its Pod
 * manifest in istiod's config directory, and its container processes —
 * a built-in stand-in or the container's command, each started inside the
 * pod with its own log and restarted by `mesh up` when it dies.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { NetnsCluster } from '../cluster/index.js';
import { writeConfigFile } from '../applied.js';
import { podExecArgv } from '../exec.js';
import { startDetached, stopPid } from '../processes.js';
import { isAlive, type ContainerRecord, type PodRecord } from '../state.js';
import type { EnvVar } from '../../istiod/index.js';
import type { PlannedContainer, PlannedPod } from './plan.js';

/** Where `ip netns exec` finds per-namespace files to bind over /etc. */
export const ETC_NETNS = '/etc/netns';
/** Pod manifests sort after the demo's files and before applied objects. */
const POD_FILE_PREFIX = '30-pod-';

export interface RuntimeContext {
  readonly cluster: NetnsCluster;
  readonly configDir: string;
  /** `<state-dir>/pods`: one directory of container logs per pod. */
  readonly podsDir: string;
  /** How to run the stand-in app: [node, dist/mesh/apps/standin-app.js]. */
  readonly standinArgv: readonly string[];
}

export function podConfigFile(namespace: string, name: string): string {
  return `${POD_FILE_PREFIX}${namespace}.${name}.yaml`;
}

/** The Pod object istiod reads: as an API server would show the running pod. */
export function podManifest(record: PodRecord, planned: Pick<PlannedPod, 'annotations' | 'containers'>, ready: boolean): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: record.name,
      namespace: record.namespace,
      uid: record.uid,
      labels: record.labels ?? {},
      annotations: planned.annotations,
      ...(record.createdAt !== undefined ? { creationTimestamp: record.createdAt } : {}),
    },
    spec: {
      nodeName: record.node,
      serviceAccountName: record.serviceAccount,
      containers: planned.containers.map((c) => ({
        name: c.name,
        image: c.image,
        ports: c.container.ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), containerPort: p.containerPort, protocol: p.protocol })),
      })),
    },
    status: {
      phase: 'Running',
      podIP: record.ips[0],
      podIPs: record.ips.map((ip) => ({ ip })),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
}

/** A container's environment: a clean one as a container has, its env, and HOSTNAME = the pod's name. */
export function containerEnv(record: PodRecord, env: readonly EnvVar[]): Record<string, string> {
  const out: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    HOSTNAME: record.name,
  };
  const fields: Record<string, string> = {
    'metadata.name': record.name,
    'metadata.namespace': record.namespace,
    'metadata.uid': record.uid,
    'spec.nodeName': record.node,
    'spec.serviceAccountName': record.serviceAccount,
    'status.podIP': record.ips[0] ?? '',
    'status.podIPs': record.ips.join(','),
    'status.hostIP': '',
  };
  for (const e of env) out[e.name] = e.kind === 'value' ? e.value : (fields[e.fieldPath] ?? '');
  return out;
}

/** The command line of a container inside its pod. */
export function containerArgv(ctx: RuntimeContext, c: PlannedContainer, env: Readonly<Record<string, string>>): string[] {
  if (c.run.kind === 'host-command') return [...c.run.argv];
  const spec = {
    image: c.image,
    args: [...(c.container.command ?? []), ...(c.container.args ?? [])],
    env,
    ports: c.ports,
  };
  return [...ctx.standinArgv, JSON.stringify(spec)];
}

/** Starts one container process in the pod; its output goes to its log. */
export function startContainer(record: Pick<PodRecord, 'cgroup' | 'netns'>, c: Omit<ContainerRecord, 'pid'>): ContainerRecord {
  const pid = startDetached(podExecArgv(record, c.argv), c.log, { ...c.env });
  return { ...c, pid };
}

/** Creates the pod in the cluster and starts its containers (enrollment comes between, from the caller). */
export async function createPod(ctx: RuntimeContext, p: PlannedPod, clusterName: string): Promise<PodRecord> {
  const pod = await ctx.cluster.addPod(p.node, clusterName);
  const record: PodRecord = {
    name: p.name,
    namespace: p.namespace,
    node: p.node,
    uid: pod.uid,
    ips: pod.ips,
    netns: pod.netns,
    netnsPath: pod.netnsPath,
    cgroup: pod.cgroup,
    app: p.labels['app'] ?? p.owner.name,
    serviceAccount: p.serviceAccount,
    enrolled: false,
    owner: p.owner,
    labels: p.labels,
    containers: [],
    configFile: podConfigFile(p.namespace, p.name),
    createdAt: new Date().toISOString(),
    ...(clusterName !== p.name ? { clusterName } : {}),
  };
  mkdirSync(join(ETC_NETNS, pod.netns), { recursive: true });
  return record;
}

/** Starts every container of a created pod. */
export function startContainers(ctx: RuntimeContext, record: PodRecord, p: PlannedPod): PodRecord {
  const dir = join(ctx.podsDir, record.namespace, record.name);
  mkdirSync(dir, { recursive: true });
  const containers = p.containers.map((c) => {
    const env = containerEnv(record, c.container.env);
    return startContainer(record, {
      name: c.name,
      image: c.image,
      run: c.run.kind,
      argv: containerArgv(ctx, c, env),
      env,
      log: join(dir, `${c.name}.log`),
      ports: c.ports,
      portNames: Object.fromEntries(c.container.ports.filter((p) => p.name !== undefined).map((p) => [p.name!, p.containerPort])),
    });
  });
  return { ...record, containers };
}

/** Writes the pod's Pod object for istiod. */
export function publishPod(ctx: RuntimeContext, record: PodRecord, p: Pick<PlannedPod, 'annotations' | 'containers'>, ready: boolean): void {
  writeConfigFile(join(ctx.configDir, record.configFile ?? podConfigFile(record.namespace, record.name)), podManifest(record, p, ready));
}

/** Writes the hosts file `ip netns exec` binds over /etc/hosts, in place (running processes see it). */
export function writeHosts(netns: string, text: string): void {
  const dir = join(ETC_NETNS, netns);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'hosts');
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

/** Stops a pod's containers, withdraws its Pod object and removes it from the cluster. */
export async function removePod(ctx: RuntimeContext, record: PodRecord): Promise<void> {
  if (record.configFile !== undefined) rmSync(join(ctx.configDir, record.configFile), { force: true });
  await Promise.all((record.containers ?? []).map((c) => stopPid(c.pid, 2000)));
  const name = record.clusterName ?? record.name;
  if (ctx.cluster.pods.some((p) => p.name === name)) ctx.cluster.removePod(name);
  rmSync(join(ETC_NETNS, record.netns), { recursive: true, force: true });
  rmSync(join(ctx.podsDir, record.namespace, record.name), { recursive: true, force: true });
}

/** The containers of a pod whose process is gone. */
export function deadContainers(record: PodRecord): ContainerRecord[] {
  return (record.containers ?? []).filter((c) => !isAlive(c.pid));
}
