/**
 * What the local mesh must do so its pods match the applied Deployments and
 * Pods: a pure function from (desired workloads, pods that exist, nodes) to
 * the pods to create, keep and remove. Everything that would stop a pod
 * from running — an image with no way to run it, two containers on one
 * port, host networking — is refused here, before anything is made.
 */
import type { ContainerRecord, PodOwner, PodRecord } from '../state.js';
import { imageRunFor, KNOWN_IMAGES } from '../standins/registry.js';
import type { Container, PodSpec } from '../../istiod/index.js';
import { WorkloadError, located } from './errors.js';
import { replicaPodName } from './pod-names.js';

export type Labels = Readonly<Record<string, string>>;

/** An applied Deployment or Pod, as the planner needs it. */
export interface DesiredWorkload {
  readonly kind: 'Deployment' | 'Pod';
  readonly namespace: string;
  readonly name: string;
  /** Where it was read (`file[index]`), for messages. */
  readonly where: string;
  /** Replicas; 1 for a Pod. */
  readonly replicas: number;
  /** `pod-template-hash` for a Deployment; a spec digest for a Pod. */
  readonly templateHash: string;
  /** The pods' labels (a Deployment's template labels plus `pod-template-hash`). */
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly spec: PodSpec;
}

/** How one container runs. */
export type ContainerRun =
  | { readonly kind: 'standin'; readonly standin: string; readonly version?: string }
  | { readonly kind: 'host-command'; readonly argv: readonly string[] };

export interface PlannedContainer {
  readonly name: string;
  readonly image: string;
  readonly run: ContainerRun;
  readonly container: Container;
  readonly ports: readonly number[];
}

export interface PlannedPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly owner: PodOwner;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly serviceAccount: string;
  readonly containers: readonly PlannedContainer[];
}

export interface WorkloadPlan {
  readonly create: readonly PlannedPod[];
  readonly keep: readonly PodRecord[];
  readonly remove: readonly PodRecord[];
}

function describe(w: DesiredWorkload): string {
  return `${w.kind}/${w.namespace}/${w.name}`;
}

function specBase(w: DesiredWorkload): string {
  return w.kind === 'Deployment' ? 'spec.template.spec' : 'spec';
}

/** How the container's image runs, or the refusal naming image, object and field. */
export function containerRun(w: DesiredWorkload, c: Container, path: string): ContainerRun {
  const image = c.image ?? '';
  const command = [...(c.command ?? []), ...(c.args ?? [])];
  const known = image === '' ? undefined : imageRunFor(image);
  if (known?.kind === 'standin') {
    return { kind: 'standin', standin: known.standin, ...(known.version !== undefined ? { version: known.version } : {}) };
  }
  if ((c.command ?? []).length > 0) return { kind: 'host-command', argv: command };
  const what =
    image === ''
      ? 'the container has no image and no command'
      : known === undefined
        ? `image ${JSON.stringify(image)} is not one ambit has a stand-in for, and the container has no command to run instead`
        : `image ${JSON.stringify(image)} runs its container's command on the host, and the container has none`;
  throw new WorkloadError(
    'WORKLOAD_UNKNOWN_IMAGE',
    located(w.where, describe(w), `${path}.image`, `${what}; known images: ${KNOWN_IMAGES.join(', ')}`),
  );
}

/** Containers of one pod, each with its run and TCP ports; two containers on one port are refused. */
export function planContainers(w: DesiredWorkload): PlannedContainer[] {
  const base = specBase(w);
  if (w.spec.hostNetwork === true) {
    throw new WorkloadError('WORKLOAD_UNSUPPORTED', located(w.where, describe(w), `${base}.hostNetwork`, 'host networking is not supported by the local mesh: a pod is its own network namespace'));
  }
  const taken = new Map<string, string>();
  return w.spec.containers.map((c, i) => {
    const path = `${base}.containers[${i}]`;
    c.ports.forEach((p, j) => {
      const key = `${p.containerPort}/${p.protocol}`;
      const owner = taken.get(key);
      if (owner !== undefined) {
        throw new WorkloadError(
          'WORKLOAD_PORT_CLASH',
          located(w.where, describe(w), `${path}.ports[${j}].containerPort`, `port ${key} is already taken by container ${JSON.stringify(owner)} in the same pod`),
        );
      }
      taken.set(key, c.name);
    });
    return {
      name: c.name,
      image: c.image ?? '',
      run: containerRun(w, c, path),
      container: c,
      ports: c.ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort),
    };
  });
}

/** Refuses every workload that cannot run; call before anything is written. */
export function checkWorkloads(workloads: readonly DesiredWorkload[], nodes: readonly string[]): void {
  for (const w of workloads) {
    planContainers(w);
    const node = w.spec.nodeName;
    if (node !== undefined && node !== '' && !nodes.includes(node)) {
      throw new WorkloadError('WORKLOAD_UNSUPPORTED', located(w.where, describe(w), `${specBase(w)}.nodeName`, `no node ${JSON.stringify(node)} in this mesh; nodes: ${nodes.join(', ')}`));
    }
  }
}

/**
 * Refuses workloads that need more pods than the nodes have addresses for
 * (each node's pod CIDR), naming the incoming object whose replicas go over.
 */
export function checkCapacity(
  workloads: readonly DesiredWorkload[],
  incoming: ReadonlySet<string>,
  otherPods: number,
  nodes: number,
  podsPerNode: number,
): void {
  const capacity = nodes * podsPerNode;
  let total = otherPods;
  const ordered = [...workloads].sort((a, b) => Number(incoming.has(`${a.kind}/${a.namespace}/${a.name}`)) - Number(incoming.has(`${b.kind}/${b.namespace}/${b.name}`)));
  for (const w of ordered) {
    total += w.replicas;
    if (total > capacity && incoming.has(`${w.kind}/${w.namespace}/${w.name}`)) {
      const path = w.kind === 'Deployment' ? 'spec.replicas' : 'metadata.name';
      throw new WorkloadError(
        'WORKLOAD_NO_ROOM',
        located(w.where, describe(w), path, `${total} pods would not fit: ${nodes} node(s) have room for ${capacity} (${podsPerNode} addresses each)`),
      );
    }
  }
}

function ownerKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

/**
 * Pods to create, keep and remove. A pod is kept while its owner exists with
 * the same template hash and the replica count still covers it; a changed
 * template replaces every pod of its owner. New pods go to the node with the
 * fewest pods of their owner, then the fewest pods, then the lowest index.
 */
export function planWorkloads(
  workloads: readonly DesiredWorkload[],
  current: readonly PodRecord[],
  nodes: readonly string[],
  random?: (max: number) => number,
): WorkloadPlan {
  checkWorkloads(workloads, nodes);
  const owned = current.filter((p) => p.owner !== undefined);
  const byOwner = new Map<string, PodRecord[]>();
  for (const p of owned) {
    const key = ownerKey(p.namespace, p.owner!.kind, p.owner!.name);
    byOwner.set(key, [...(byOwner.get(key) ?? []), p]);
  }
  const keep: PodRecord[] = [];
  const remove: PodRecord[] = [];
  const create: PlannedPod[] = [];
  const wanted = new Set(workloads.map((w) => ownerKey(w.namespace, w.kind, w.name)));
  for (const [key, pods] of byOwner) if (!wanted.has(key)) remove.push(...pods);

  const taken = new Set(current.map((p) => `${p.namespace}/${p.name}`));
  const perNode = new Map(nodes.map((n) => [n, current.filter((p) => p.node === n).length]));
  for (const w of workloads) {
    const pods = byOwner.get(ownerKey(w.namespace, w.kind, w.name)) ?? [];
    // A pod an interrupted apply left without its containers is made again, not kept.
    const same = pods
      .filter((p) => p.owner!.templateHash === w.templateHash && (p.containers ?? []).length > 0)
      .sort((a, b) => a.name.localeCompare(b.name));
    const kept = same.slice(0, w.replicas);
    keep.push(...kept);
    const gone = pods.filter((p) => !kept.includes(p));
    remove.push(...gone);
    for (const p of gone) perNode.set(p.node, (perNode.get(p.node) ?? 1) - 1);
    const ownerPerNode = new Map(nodes.map((n) => [n, kept.filter((p) => p.node === n).length]));
    const containers = planContainers(w);
    for (let i = kept.length; i < w.replicas; i++) {
      const node = pickNode(w, nodes, ownerPerNode, perNode);
      const name =
        w.kind === 'Pod' ? w.name : replicaPodName(w.name, w.templateHash, new Set([...taken].filter((t) => t.startsWith(`${w.namespace}/`)).map((t) => t.slice(w.namespace.length + 1))), random);
      taken.add(`${w.namespace}/${name}`);
      ownerPerNode.set(node, (ownerPerNode.get(node) ?? 0) + 1);
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
      create.push({
        name,
        namespace: w.namespace,
        node,
        owner: { kind: w.kind, name: w.name, templateHash: w.templateHash },
        labels: w.labels,
        annotations: w.annotations,
        serviceAccount: w.spec.serviceAccountName ?? 'default',
        containers,
      });
    }
  }
  return { create, keep, remove };
}

function pickNode(w: DesiredWorkload, nodes: readonly string[], ownerPerNode: Map<string, number>, perNode: Map<string, number>): string {
  if (w.spec.nodeName !== undefined && w.spec.nodeName !== '') return w.spec.nodeName;
  return [...nodes].sort((a, b) => (ownerPerNode.get(a) ?? 0) - (ownerPerNode.get(b) ?? 0) || (perNode.get(a) ?? 0) - (perNode.get(b) ?? 0) || nodes.indexOf(a) - nodes.indexOf(b))[0]!;
}

/** The records of a pod's containers once started (for the state file). */
export type StartedContainers = readonly ContainerRecord[];
