/**
 * What `ambit mesh get|wait|logs|exec` read: pods, Deployments, Services
 * and gateways of the local mesh, with the stable JSON keys the README
 * documents, and the readiness of pods as `mesh wait` decides it — running,
 * enrolled as their labels say, and a workload in every agent's store (with
 * the HBONE protocol exactly when enrolled).
 */
import { workloadsDirOf } from '../applied.js';
import type { ConfigObject } from '../../istiod/index.js';
import { isAlive, readMeshState, MeshError, type ContainerRecord, type MeshState, type PodRecord } from '../state.js';
import { desiredState, readObjects, type LocatedObject } from './desired.js';
import { podNotReady } from './readiness.js';

export interface PodView {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly ip: string;
  readonly ips: readonly string[];
  readonly status: 'Running' | 'NotReady' | 'Failed';
  readonly ready: string;
  readonly enrolled: boolean;
  readonly identity: string;
  readonly owner: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly { readonly name: string; readonly image: string; readonly pid: number; readonly running: boolean; readonly log: string }[];
  readonly createdAt: string;
}

export interface DeploymentView {
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly ready: number;
  readonly upToDate: number;
  readonly pods: readonly string[];
  readonly images: readonly string[];
  readonly selector: Readonly<Record<string, string>>;
}

export interface ServiceView {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly clusterIp: string;
  readonly ports: readonly string[];
  readonly selector: Readonly<Record<string, string>>;
}

export interface GatewayView {
  readonly name: string;
  readonly namespace: string;
  /** `networking.istio.io` or `gateway.networking.k8s.io`. */
  readonly api: string;
  readonly class: string;
  readonly address: string;
  readonly programmed: boolean;
}

function trustDomainIdentity(p: PodRecord): string {
  return `spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`;
}

/** A pod's containers; the frontend/backend demo's pods record their one app process instead. */
function containersOf(p: PodRecord): readonly ContainerRecord[] {
  if (p.containers !== undefined) return p.containers;
  if (p.appPid === undefined) return [];
  return [{ name: p.app, image: `ambit-demo/${p.app}`, run: 'host-command', argv: p.appArgv ?? [], env: {}, log: p.appLog ?? '', pid: p.appPid, ports: [] }];
}

export function podView(record: PodRecord): PodView {
  const list = containersOf(record);
  const containers = list.map((c) => ({ name: c.name, image: c.image, pid: c.pid, running: isAlive(c.pid), log: c.log }));
  const runningCount = containers.filter((c) => c.running).length;
  // Ready as kubectl counts it: per container, running and listening on its ports.
  const readyCount = list.filter((c) => podNotReady({ ...record, containers: [c] }).length === 0).length;
  const p = record;
  return {
    name: p.name,
    namespace: p.namespace,
    node: p.node,
    ip: p.ips[0] ?? '',
    ips: p.ips,
    status: runningCount < containers.length ? 'Failed' : readyCount < containers.length ? 'NotReady' : 'Running',
    ready: `${readyCount}/${containers.length}`,
    enrolled: p.enrolled,
    identity: trustDomainIdentity(p),
    owner: p.owner === undefined ? 'demo' : `${p.owner.kind}/${p.owner.name}`,
    labels: p.labels ?? {},
    containers,
    createdAt: p.createdAt ?? '',
  };
}

/** Applied and mesh-written objects (for get deployments/services/gateways). */
export async function meshObjects(stateDir: string, state: MeshState): Promise<LocatedObject[]> {
  return readObjects([state.configDir, workloadsDirOf(stateDir)]);
}

export function deploymentViews(objects: readonly LocatedObject[], state: MeshState): DeploymentView[] {
  return desiredState(objects)
    .workloads.filter((w) => w.kind === 'Deployment')
    .map((w) => {
      const pods = state.pods.filter((p) => p.namespace === w.namespace && p.owner?.kind === 'Deployment' && p.owner.name === w.name);
      return {
        name: w.name,
        namespace: w.namespace,
        replicas: w.replicas,
        ready: pods.filter((p) => podNotReady(p).length === 0).length,
        upToDate: pods.filter((p) => p.owner?.templateHash === w.templateHash).length,
        pods: pods.map((p) => p.name),
        images: w.spec.containers.map((c) => c.image ?? ''),
        selector: Object.fromEntries(Object.entries(w.labels).filter(([k]) => k !== 'pod-template-hash')),
      };
    });
}

export function serviceViews(objects: readonly LocatedObject[]): ServiceView[] {
  return objects
    .filter((o) => o.object.kind === 'Service')
    .sort((a, b) => `${a.object.metadata.namespace}/${a.object.metadata.name}`.localeCompare(`${b.object.metadata.namespace}/${b.object.metadata.name}`))
    .map((o) => {
      const s = o.object as ConfigObject<'Service'>;
      return {
        name: s.metadata.name,
        namespace: s.metadata.namespace,
        type: s.spec.type,
        clusterIp: s.spec.clusterIP ?? '',
        ports: s.spec.ports.map((p) => `${p.port}${p.targetPort !== undefined && p.targetPort !== p.port ? `:${p.targetPort}` : ''}/${p.protocol}`),
        selector: s.spec.selector ?? {},
      };
    });
}

export function gatewayViews(objects: readonly LocatedObject[]): GatewayView[] {
  return objects
    .filter((o) => o.object.kind === 'Gateway' || (o.object.kind as string) === 'KubernetesGateway')
    .map((o) => {
      const spec = o.object.spec as Readonly<Record<string, unknown>>;
      const istio = o.object.kind === 'Gateway';
      return {
        name: o.object.metadata.name,
        namespace: o.object.metadata.namespace,
        api: istio ? 'networking.istio.io' : 'gateway.networking.k8s.io',
        class: istio ? '' : String(spec['gatewayClassName'] ?? ''),
        // Gateways are stored and validated; nothing serves them yet.
        address: '',
        programmed: false,
      };
    });
}

/** Pods a `deploy/NAME`, `pod/NAME` or `NAME` argument names in a namespace. */
export function selectPods(state: MeshState, namespace: string, target: string): PodRecord[] {
  const [kind, name] = target.includes('/') ? (target.split('/', 2) as [string, string]) : ['pod', target];
  const inNs = state.pods.filter((p) => p.namespace === namespace);
  switch (kind) {
    case 'deploy':
    case 'deployment':
    case 'deployments':
      return inNs.filter((p) => p.owner?.kind === 'Deployment' && p.owner.name === name);
    case 'pod':
    case 'pods':
    case 'po': {
      const exact = inNs.filter((p) => p.name === name);
      if (exact.length > 0) return exact;
      const prefixed = inNs.filter((p) => p.name.startsWith(name));
      return prefixed.length === 1 ? prefixed : [];
    }
    default:
      throw new MeshError('MESH_BAD_OPTION', `"${target}": not POD, pod/NAME or deploy/NAME`);
  }
}

export interface WaitOutcome {
  readonly ready: boolean;
  /** `namespace/pod: what is missing`, one per line, when not ready. */
  readonly missing: readonly string[];
  readonly pods: readonly string[];
}

interface DumpWorkload {
  readonly name?: string;
  readonly namespace?: string;
  readonly protocol?: string;
}

async function agentWorkloads(adminAddress: string): Promise<DumpWorkload[] | string> {
  try {
    const res = await fetch(`http://${adminAddress}/config_dump`, { signal: AbortSignal.timeout(3000) });
    if (res.status !== 200) return `config_dump answered ${res.status}`;
    const body = (await res.json()) as { workloads?: DumpWorkload[] };
    return body.workloads ?? [];
  } catch (err) {
    return (err as Error).message;
  }
}

/** One look: which of the pods are not ready in the `mesh wait` sense. */
export async function checkPodsReady(state: MeshState, pods: readonly PodRecord[]): Promise<string[]> {
  const missing: string[] = [];
  const stores = await Promise.all(state.agents.map(async (a) => ({ node: a.node, workloads: await agentWorkloads(a.adminAddress) })));
  for (const p of pods) {
    const id = `${p.namespace}/${p.name}`;
    for (const problem of podNotReady(p)) missing.push(`${id}: ${problem}`);
    for (const s of stores) {
      if (typeof s.workloads === 'string') {
        missing.push(`${id}: the agent on ${s.node} cannot be read (${s.workloads})`);
        continue;
      }
      const w = s.workloads.find((x) => x.name === p.name && x.namespace === p.namespace);
      if (w === undefined) missing.push(`${id}: not yet a workload in the store of the agent on ${s.node}`);
      else if ((w.protocol === 'HBONE') !== p.enrolled) {
        missing.push(`${id}: the agent on ${s.node} has it as ${w.protocol ?? '?'}, but it is ${p.enrolled ? '' : 'not '}enrolled`);
      }
    }
  }
  return missing;
}

/**
 * Polls until the selected pods are ready and `alsoMissing` reports nothing,
 * or the timeout passes (re-reading the state: pods may be replaced meanwhile).
 */
export async function waitForPods(
  stateDir: string,
  select: (state: MeshState) => PodRecord[],
  timeoutMs: number,
  alsoMissing: (state: MeshState, pods: readonly PodRecord[]) => Promise<readonly string[]> = () => Promise.resolve([]),
): Promise<WaitOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = readMeshState(stateDir);
    if (state === undefined) throw new MeshError('MESH_NOT_FOUND', `no mesh recorded in ${stateDir}`);
    const pods = select(state);
    const missing = [...(await alsoMissing(state, pods)), ...(await checkPodsReady(state, pods))];
    if (missing.length === 0 || Date.now() >= deadline) return { ready: missing.length === 0, missing, pods: pods.map((p) => `${p.namespace}/${p.name}`) };
    await new Promise((r) => setTimeout(r, 200));
  }
}
