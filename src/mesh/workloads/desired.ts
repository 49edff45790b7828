/**
 * What the applied configuration asks the local mesh to run: Deployments and
 * Pods from the mesh's object directory, Namespaces (their labels decide
 * enrollment) and Services (their cluster IPs become names in the pods'
 * hosts files) from istiod's config directory. Read from the files each
 * time, so every command sees the same truth whatever process wrote it.
 */
import { loadConfigFiles, validateDocument, type AnyConfigObject, type ConfigObject } from '../../istiod/index.js';
import { WorkloadError } from './errors.js';
import { canonicalJson, podTemplateHash } from './pod-names.js';
import type { DesiredWorkload, Labels } from './plan.js';

export interface ServiceName {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIp: string;
  /** Absent: the Service selects no pods (its endpoints are managed elsewhere). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports?: readonly { readonly port: number; readonly targetPort?: number | string; readonly protocol: string }[];
}

export interface DesiredState {
  readonly workloads: readonly DesiredWorkload[];
  /** Namespace -> its labels (only namespaces that exist as objects). */
  readonly namespaces: ReadonlyMap<string, Labels>;
  readonly services: readonly ServiceName[];
}

/** A validated object with where it came from, as readers and `mesh apply` hand them over. */
export interface LocatedObject {
  readonly object: AnyConfigObject;
  /** The raw document (a Deployment's template is hashed as written). */
  readonly raw: unknown;
  readonly where: string;
}

function templateOf(raw: unknown): unknown {
  const spec = (raw as { spec?: { template?: unknown } }).spec;
  return spec?.template ?? {};
}

/** A Deployment or Pod object as the planner sees it. */
export function desiredWorkload(o: LocatedObject): DesiredWorkload | undefined {
  const obj = o.object;
  if (obj.kind === 'Deployment') {
    const d = obj as ConfigObject<'Deployment'>;
    const hash = podTemplateHash(templateOf(o.raw));
    return {
      kind: 'Deployment',
      namespace: d.metadata.namespace,
      name: d.metadata.name,
      where: o.where,
      replicas: d.spec.replicas,
      templateHash: hash,
      labels: { ...d.spec.template.labels, 'pod-template-hash': hash },
      annotations: d.spec.template.annotations,
      spec: d.spec.template.spec,
    };
  }
  if (obj.kind === 'Pod') {
    const p = obj as ConfigObject<'Pod'>;
    const raw = o.raw as { metadata?: { labels?: unknown; annotations?: unknown }; spec?: unknown };
    return {
      kind: 'Pod',
      namespace: p.metadata.namespace,
      name: p.metadata.name,
      where: o.where,
      replicas: 1,
      templateHash: podTemplateHash({ labels: raw.metadata?.labels ?? {}, annotations: raw.metadata?.annotations ?? {}, spec: raw.spec ?? {} }),
      labels: p.metadata.labels,
      annotations: p.metadata.annotations,
      spec: p.spec,
    };
  }
  return undefined;
}

/** Every valid object in the given files or directories; an invalid one there is an error (it was checked when applied). */
export async function readObjects(paths: readonly string[]): Promise<LocatedObject[]> {
  const out: LocatedObject[] = [];
  for (const f of await loadConfigFiles(paths)) {
    if (f.kind === 'unreadable') throw new WorkloadError('WORKLOAD_STATE_UNREADABLE', `${f.file}: ${f.error.message}`);
    for (const doc of f.documents) {
      if (doc.kind === 'parse-error') throw new WorkloadError('WORKLOAD_STATE_UNREADABLE', `${f.file}[${doc.index}]: ${doc.message}`);
      const r = validateDocument(doc.raw, { source: 'file', file: f.file, index: doc.index });
      if (r.kind === 'invalid') {
        throw new WorkloadError('WORKLOAD_STATE_UNREADABLE', `${f.file}[${doc.index}]: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      }
      out.push({ object: r.object, raw: doc.raw, where: `${f.file}[${doc.index}]` });
    }
  }
  return out;
}

function identity(o: AnyConfigObject): string {
  return `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

/**
 * The desired state from objects (later ones replace earlier ones with the
 * same identity, so `mesh apply` can lay its input over what is applied).
 */
export function desiredState(objects: readonly LocatedObject[]): DesiredState {
  const byId = new Map<string, LocatedObject>();
  for (const o of objects) byId.set(identity(o.object), o);
  const workloads: DesiredWorkload[] = [];
  const namespaces = new Map<string, Labels>();
  const services: ServiceName[] = [];
  for (const o of byId.values()) {
    const w = desiredWorkload(o);
    if (w !== undefined) workloads.push(w);
    else if (o.object.kind === 'Namespace') namespaces.set(o.object.metadata.name, o.object.metadata.labels);
    else if (o.object.kind === 'Service') {
      const s = o.object as ConfigObject<'Service'>;
      const ip = s.spec.clusterIP;
      if (ip !== undefined && ip !== '' && ip !== 'None') {
        services.push({
          namespace: s.metadata.namespace,
          name: s.metadata.name,
          clusterIp: ip,
          ...(s.spec.selector !== undefined ? { selector: s.spec.selector } : {}),
          ports: s.spec.ports.map((p) => ({ port: p.port, ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}), protocol: p.protocol })),
        });
      }
    }
  }
  workloads.sort((a, b) => canonicalJson([a.namespace, a.kind, a.name]).localeCompare(canonicalJson([b.namespace, b.kind, b.name])));
  return { workloads, namespaces, services };
}
