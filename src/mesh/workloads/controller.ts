/**
 * The local mesh's workload controller: `mesh apply` and `mesh delete` of
 * Namespaces, Services, Deployments and Pods, and the reconcile that makes
 * the running pods match them — created, replaced, scaled, removed, and
 * enrolled with their node agent exactly when Istio's labels say so
 * (`istio.io/dataplane-mode` on the namespace or the pod), without a
 * restart. One command at a time per mesh (a lock file in the state
 * directory); every step is recorded, so a crash leaves what `mesh down`
 * removes.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_API_KINDS, podEnrolled } from '../../istiod/index.js';
import { withEnrollmentClient } from '../../ztunnel/index.js';
import { AddressPlan, openCluster } from '../cluster/index.js';
import {
  applyDocuments,
  deleteObjects,
  entryPath,
  readApplied,
  type ApplyDirs,
  type ApplyDocument,
  type ApplyOutcome,
  type DeleteResult,
  type ObjectIdentity,
  workloadsDirOf,
} from '../applied.js';
import { MeshError, isAlive, readMeshState, writeMeshState, type MeshState, type PodRecord } from '../state.js';
import { desiredState, readObjects, type DesiredState, type LocatedObject } from './desired.js';
import { WorkloadError } from './errors.js';
import { validatedDocument } from '../apply-input.js';
import { allocateClusterIp, hostsFile } from './name-resolution.js';
import { checkCapacity, checkWorkloads, planContainers, planWorkloads, type DesiredWorkload } from './plan.js';
import { createPod, publishPod, removePod, startContainers, writeHosts, type RuntimeContext } from './pod-runtime.js';
import { waitPodsReady } from './readiness.js';
import { nftRuleset, programServiceProxy, serviceRules } from './service-proxy.js';

/** Kinds that are validated and stored, but that nothing acts on yet (waypoints and gateways come later). */
export const NO_EFFECT_YET_KINDS: readonly string[] = ['VirtualService', 'DestinationRule', 'Gateway', ...GATEWAY_API_KINDS];

const LOCK_FILE = 'workloads.lock';
const LOCK_WAIT_MS = 60_000;
/** How long apply waits for new pods to listen before it reports them not ready. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

export interface WorkloadOptions {
  /** How to run the stand-in app: [node, dist/mesh/apps/standin-app.js]. */
  readonly standinArgv: readonly string[];
  readonly readyTimeoutMs?: number;
  readonly progress?: (line: string) => void;
}

export interface ReconcileResult {
  readonly created: readonly PodRecord[];
  readonly removed: readonly PodRecord[];
  readonly enrolled: readonly PodRecord[];
  readonly released: readonly PodRecord[];
  /** `namespace/pod` -> why it is not ready yet. */
  readonly notReady: ReadonlyMap<string, readonly string[]>;
}

export interface MeshApplyResult extends ReconcileResult {
  readonly outcomes: readonly ApplyOutcome[];
}

export interface MeshDeleteResult extends ReconcileResult {
  readonly deleted: DeleteResult['deleted'];
  readonly notFound: DeleteResult['notFound'];
}

function dirsOf(stateDir: string, state: MeshState): ApplyDirs {
  return { configDir: state.configDir, workloadsDir: workloadsDirOf(stateDir) };
}

function requireMesh(stateDir: string): MeshState {
  const state = readMeshState(stateDir);
  if (state === undefined) throw new MeshError('MESH_NOT_FOUND', `no mesh recorded in ${stateDir}; run \`ambit mesh up --state-dir ${stateDir}\` first`);
  return state;
}

/** Runs `body` holding the mesh's workload lock (waits for another command to finish; a dead holder's lock is taken over). */
async function withLock<T>(stateDir: string, body: () => Promise<T>): Promise<T> {
  const file = join(stateDir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSafe(file));
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new MeshError('MESH_BUSY', `${file}: another command (pid ${holder}) has held the mesh for over ${LOCK_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(file, { force: true });
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every object applied to the mesh, plus what `mesh up` wrote (namespaces, the demo's services). */
async function appliedObjects(stateDir: string, state: MeshState): Promise<LocatedObject[]> {
  const dirs = dirsOf(stateDir, state);
  mkdirSync(dirs.workloadsDir, { recursive: true });
  const applied = new Set(readApplied(stateDir).map((e) => entryPath(dirs, e)));
  const objects = await readObjects([state.configDir, dirs.workloadsDir]);
  // Pod objects the mesh itself wrote for running pods are its output, not its input.
  return objects.filter((o) => o.object.kind !== 'Pod' || [...applied].some((p) => o.where.startsWith(`${p}[`)));
}

function locatedFromDocs(docs: readonly ApplyDocument[]): LocatedObject[] {
  return docs.filter((d) => d.object !== undefined).map((d) => ({ object: d.object!, raw: d.raw, where: d.where }));
}

/** Services without a cluster IP get one (stable per name); the document written to istiod carries it. */
function withClusterIps(docs: readonly ApplyDocument[], desired: DesiredState, state: MeshState): { docs: ApplyDocument[]; clusterIps: Record<string, string> } {
  const clusterIps: Record<string, string> = { ...(state.clusterIps ?? {}) };
  const taken = new Set([...desired.services.map((s) => s.clusterIp), ...Object.values(clusterIps), ...Object.values(state.services)]);
  const out = docs.map((d) => {
    if (d.kind !== 'Service') return d;
    const raw = d.raw as { spec?: { clusterIP?: string; type?: string } };
    if (raw.spec?.type === 'ExternalName' || (raw.spec?.clusterIP !== undefined && raw.spec.clusterIP !== '')) return d;
    const key = `${d.namespace}/${d.name}`;
    const ip = clusterIps[key] ?? allocateClusterIp(d.namespace, d.name, taken);
    taken.add(ip);
    clusterIps[key] = ip;
    return { ...d, raw: { ...(raw as object), spec: { ...(raw.spec ?? {}), clusterIP: ip } } };
  });
  return { docs: out, clusterIps };
}

/**
 * Validates the workloads of `docs` against what runs (images, ports,
 * nodes), writes every object, then reconciles. A refusal throws
 * WorkloadError or MeshError before anything is written.
 */
export async function meshApply(stateDir: string, docs: readonly ApplyDocument[], options: WorkloadOptions): Promise<MeshApplyResult> {
  return withLock(stateDir, async () => {
    const state = requireMesh(stateDir);
    const before = await appliedObjects(stateDir, state);
    const planned = desiredState([...before, ...locatedFromDocs(docs)]);
    const incoming = new Set(docs.map((d) => `${d.kind}/${d.namespace}/${d.name}`));
    // As an API server: an object goes into a namespace that exists (or comes in the same apply).
    for (const d of docs) {
      if (d.namespace !== '' && !planned.namespaces.has(d.namespace)) {
        throw new WorkloadError(
          'WORKLOAD_NAMESPACE_NOT_FOUND',
          `${d.where} ${d.kind}/${d.namespace}/${d.name}: metadata.namespace: namespace "${d.namespace}" not found; apply a Namespace object first (or in the same apply)`,
        );
      }
    }
    checkWorkloads(
      planned.workloads.filter((w) => incoming.has(`${w.kind}/${w.namespace}/${w.name}`)),
      state.agents.map((a) => a.node),
    );
    const demoPods = state.pods.filter((p) => p.owner === undefined).length;
    checkCapacity(planned.workloads, incoming, demoPods, state.agents.length, new AddressPlan().maxPodsPerNode);
    const { docs: written, clusterIps } = withClusterIps(docs, planned, state);
    const outcomes = applyDocuments(stateDir, dirsOf(stateDir, state), written);
    writeMeshState(stateDir, { ...state, clusterIps });
    const result = await reconcileLocked(stateDir, options);
    return { ...result, outcomes };
  });
}

/** Deletes applied objects and reconciles (a deleted Deployment's pods stop and go). */
export async function meshDelete(stateDir: string, identities: readonly ObjectIdentity[], options: WorkloadOptions): Promise<MeshDeleteResult> {
  return withLock(stateDir, async () => {
    const state = requireMesh(stateDir);
    const r = deleteObjects(stateDir, dirsOf(stateDir, state), identities);
    const clusterIps = { ...(state.clusterIps ?? {}) };
    for (const e of r.deleted) if (e.kind === 'Service') delete clusterIps[`${e.namespace}/${e.name}`];
    writeMeshState(stateDir, { ...state, clusterIps });
    const result = await reconcileLocked(stateDir, options);
    return { ...result, deleted: r.deleted, notFound: r.notFound };
  });
}

/** Makes the pods match the applied objects (also after a crash halfway through an apply). */
export async function reconcileWorkloads(stateDir: string, options: WorkloadOptions): Promise<ReconcileResult> {
  return withLock(stateDir, () => reconcileLocked(stateDir, options));
}

async function reconcileLocked(stateDir: string, options: WorkloadOptions): Promise<ReconcileResult> {
  const say = options.progress ?? (() => undefined);
  let state = requireMesh(stateDir);
  const desired = desiredState(await appliedObjects(stateDir, state));
  const nodes = state.agents.map((a) => a.node);
  const plan = planWorkloads(desired.workloads, state.pods, nodes);
  const ctx: RuntimeContext = {
    cluster: openCluster(state.clusterStateFile),
    configDir: state.configDir,
    podsDir: join(stateDir, 'pods'),
    standinArgv: options.standinArgv,
  };
  const save = (pods: readonly PodRecord[]): void => {
    state = { ...state, pods };
    writeMeshState(stateDir, state);
  };

  for (const p of plan.remove) {
    say(`removing pod ${p.namespace}/${p.name}`);
    if (p.enrolled) await release(state, p);
    await removePod(ctx, p);
    save(state.pods.filter((x) => x !== p && !(x.namespace === p.namespace && x.name === p.name)));
  }

  const clusterNames = new Set(ctx.cluster.pods.map((p) => p.name));
  const created: PodRecord[] = [];
  const plannedFor = new Map<PodRecord, (typeof plan.create)[number]>();
  // Network namespaces first, recorded as made, then all containers start together.
  const made = await Promise.all(
    plan.create.map(async (p) => {
      let clusterName = p.name;
      if (clusterNames.has(clusterName)) clusterName = `${p.namespace}-${p.name}`.slice(0, 63).replace(/-+$/, '');
      clusterNames.add(clusterName);
      say(`creating pod ${p.namespace}/${p.name} on ${p.node}`);
      return { p, record: await createPod(ctx, p, clusterName) };
    }),
  );
  save([...state.pods, ...made.map((m) => m.record)]);
  const services = desired.services;
  for (const { p, record } of made) {
    writeHosts(record.netns, hostsFile({ name: record.name, namespace: record.namespace, ip: record.ips[0] ?? '' }, services));
    // Known to istiod (not ready) before its containers start: its identity and workload are there when they are.
    publishPod(ctx, record, p, false);
    let r = record;
    // Captured before the app runs, as istio-cni does, so its first connection is already in the mesh.
    if (wantsEnrollment(r, desired)) r = await enroll(state, r);
    r = startContainers(ctx, r, p);
    plannedFor.set(r, p);
    created.push(r);
  }
  save([...state.pods.filter((x) => !made.some((m) => m.record.uid === x.uid)), ...created]);
  const notReady = await waitPodsReady(created, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  for (const r of created) publishPod(ctx, r, plannedFor.get(r)!, !notReady.has(`${r.namespace}/${r.name}`));

  // Every workload pod: names of the current services, enrollment as the labels now say.
  const enrolled: PodRecord[] = [];
  const released: PodRecord[] = [];
  const pods: PodRecord[] = [];
  for (const pod of state.pods) {
    if (pod.owner === undefined) {
      pods.push(pod);
      continue;
    }
    writeHosts(pod.netns, hostsFile({ name: pod.name, namespace: pod.namespace, ip: pod.ips[0] ?? '' }, services));
    const want = wantsEnrollment(pod, desired);
    if (want && !pod.enrolled) {
      const r = await enroll(state, pod);
      enrolled.push(r);
      pods.push(r);
    } else if (!want && pod.enrolled) {
      const r = await release(state, pod);
      released.push(r);
      pods.push(r);
    } else pods.push(pod);
  }
  save(pods);
  // Service cluster IPs for pods the mesh does not capture, as kube-proxy gives them in a cluster.
  await programServiceProxy(ctx.cluster, nftRuleset(serviceRules(services, pods)));
  return { created, removed: plan.remove, enrolled, released, notReady };
}

function wantsEnrollment(pod: PodRecord, desired: DesiredState): boolean {
  const w: DesiredWorkload | undefined = desired.workloads.find((x) => x.namespace === pod.namespace && x.kind === pod.owner?.kind && x.name === pod.owner.name);
  return podEnrolled(pod.labels ?? {}, w?.annotations ?? {}, desired.namespaces.get(pod.namespace), w?.spec.hostNetwork === true);
}

function agentOf(state: MeshState, pod: PodRecord): MeshState['agents'][number] {
  const agent = state.agents.find((a) => a.node === pod.node);
  if (agent === undefined) throw new MeshError('MESH_STATE_UNREADABLE', `pod ${pod.namespace}/${pod.name}: no agent on node ${pod.node}`);
  return agent;
}

async function enroll(state: MeshState, pod: PodRecord): Promise<PodRecord> {
  await withEnrollmentClient({ socketPath: agentOf(state, pod).enrollSocket }, (c) =>
    c.addPod({
      uid: pod.uid,
      name: pod.name,
      namespace: pod.namespace,
      serviceAccount: pod.serviceAccount,
      netnsPath: pod.netnsPath,
      cgroupPath: pod.cgroup,
      ips: pod.ips,
    }),
  );
  return { ...pod, enrolled: true };
}

async function release(state: MeshState, pod: PodRecord): Promise<PodRecord> {
  await withEnrollmentClient({ socketPath: agentOf(state, pod).enrollSocket }, (c) => c.delPod(pod.uid));
  return { ...pod, enrolled: false };
}

export { WorkloadError, planContainers };

/** One `key=value` (set) or `key-` (remove) of `mesh label`. */
export type LabelChange = { readonly kind: 'set'; readonly key: string; readonly value: string } | { readonly kind: 'remove'; readonly key: string };

export function parseLabelChange(arg: string): LabelChange {
  if (arg.length > 1 && arg.endsWith('-') && !arg.includes('=')) return { kind: 'remove', key: arg.slice(0, -1) };
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new MeshError('MESH_BAD_OPTION', `"${arg}": not key=value or key-`);
  return { kind: 'set', key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

/**
 * `kubectl label namespace` for the local mesh: the Namespace object is
 * applied again with its labels changed, and the pods in it are enrolled or
 * released as the new labels say — running pods are not restarted.
 */
export async function labelNamespace(
  stateDir: string,
  name: string,
  changes: readonly LabelChange[],
  overwrite: boolean,
  options: WorkloadOptions,
): Promise<MeshApplyResult> {
  const state = requireMesh(stateDir);
  const entry = readApplied(stateDir).find((e) => e.kind === 'Namespace' && e.name === name);
  if (entry === undefined) throw new MeshError('MESH_NOT_FOUND', `namespace ${JSON.stringify(name)} not found (apply a Namespace object first)`);
  const [found] = await readObjects([entryPath(dirsOf(stateDir, state), entry)]);
  if (found === undefined) throw new MeshError('MESH_STATE_UNREADABLE', `${entry.file}: the namespace's file holds no object`);
  const raw = structuredClone(found.raw) as { metadata?: { labels?: Record<string, string> } };
  const labels = { ...(raw.metadata?.labels ?? {}) };
  for (const c of changes) {
    if (c.kind === 'remove') {
      delete labels[c.key];
      continue;
    }
    const current = labels[c.key];
    if (current !== undefined && current !== c.value && !overwrite) {
      throw new MeshError('MESH_BAD_OPTION', `'${c.key}' already has a value (${current}), and --overwrite is false`);
    }
    labels[c.key] = c.value;
  }
  raw.metadata = { ...(raw.metadata ?? {}), labels };
  return meshApply(stateDir, [validatedDocument(raw, `namespace/${name}`, entry.source)], options);
}
