/**
 * What `ambit mesh apply` put into istiod's config directory, tracked by
 * object identity (kind/namespace/name) as `kubectl apply` does, with the
 * absolute path of the file (or stdin) each object last came from. Every
 * object gets a file of its own, named after its identity, so two
 * `policy.yaml` from different folders never overwrite each other, and
 * `delete` removes exactly the objects it names. The index lives in
 * `<state-dir>/applied.json`, written atomically.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MeshError } from './state.js';
import type { AnyConfigObject } from '../istiod/index.js';

export const APPLIED_INDEX_FILE = 'applied.json';
/** The source recorded for config read from standard input. */
export const STDIN_SOURCE = '(stdin)';
/** The source recorded for what `mesh up` applies itself (the namespaces, the Bookinfo demo's label). */
export const MESH_UP_SOURCE = '(ambit mesh up)';
/** Applied files sort after what `mesh up` writes (00-…, 10-…, 20-…). */
const FILE_PREFIX = '50-applied-';

export interface ObjectIdentity {
  /** The kind as the validator names it, e.g. AuthorizationPolicy. */
  readonly kind: string;
  /** '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
}

export interface AppliedEntry extends ObjectIdentity {
  /** Absolute path of the file the object last came from, or STDIN_SOURCE. */
  readonly source: string;
  /** The file in istiod's config directory that holds it (a base name). */
  readonly file: string;
  /** sha256 of the file's text, to tell "unchanged" from "configured". */
  readonly digest: string;
  /**
   * `workloads`: the file is in the mesh's own object directory, not
   * istiod's (Deployments and Pods, which the mesh turns into running pods
   * and writes to istiod as Pods itself).
   */
  readonly store?: 'workloads';
}

/** The mesh's own object directory (applied Deployments and Pods) in a state directory. */
export function workloadsDirOf(stateDir: string): string {
  return join(stateDir, 'objects');
}

/** Where applied objects go: istiod's config directory, and the mesh's own for workload kinds. */
export interface ApplyDirs {
  readonly configDir: string;
  readonly workloadsDir: string;
}

/** Kinds the mesh keeps in its own object directory and runs itself. */
export const WORKLOAD_KINDS: readonly string[] = ['Deployment', 'Pod'];

function storeOf(kind: string): 'workloads' | undefined {
  return WORKLOAD_KINDS.includes(kind) ? 'workloads' : undefined;
}

/** The file an entry's object is kept in. */
export function entryPath(dirs: ApplyDirs, entry: Pick<AppliedEntry, 'file' | 'store'>): string {
  return join(entry.store === 'workloads' ? dirs.workloadsDir : dirs.configDir, entry.file);
}

interface AppliedIndex {
  readonly version: 1;
  readonly objects: readonly AppliedEntry[];
}

/** An object ready to apply: validated, with its identity and its document. */
export interface ApplyDocument extends ObjectIdentity {
  readonly raw: unknown;
  /** The validated object (absent for identities read only to delete). */
  readonly object?: AnyConfigObject;
  /** Where it was read, for messages: `file[index]`. */
  readonly where: string;
  readonly source: string;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyOutcome {
  readonly entry: AppliedEntry;
  readonly action: ApplyAction;
  /** Set when the object was last applied from another source. */
  readonly previousSource?: string;
}

export interface DeleteResult {
  readonly deleted: readonly AppliedEntry[];
  readonly notFound: readonly ObjectIdentity[];
}

/** `kind/namespace/name`, kind lowercased (as kubectl matches kinds); the cluster scope is `-`. */
export function identityKey(o: ObjectIdentity): string {
  return `${o.kind.toLowerCase()}/${o.namespace === '' ? '-' : o.namespace}/${o.name}`;
}

/** Kinds whose name alone is ambiguous, as kubectl qualifies them with their group. */
const QUALIFIED_KINDS: Readonly<Record<string, string>> = {
  Gateway: 'gateway.networking.istio.io',
  KubernetesGateway: 'gateway.gateway.networking.k8s.io',
};

/** How an identity reads in output: `authorizationpolicy demo/deny-frontend`. */
export function describeIdentity(o: ObjectIdentity): string {
  return `${QUALIFIED_KINDS[o.kind] ?? o.kind.toLowerCase()} ${o.namespace === '' ? '' : `${o.namespace}/`}${o.name}`;
}

/**
 * The config file of an object: readable, and unique per identity even when
 * a name holds characters a file name should not (then a hash decides).
 */
export function appliedFileName(o: ObjectIdentity): string {
  const readable = [o.kind.toLowerCase(), o.namespace === '' ? '_' : o.namespace, o.name].join('.');
  if (/^[a-z0-9][a-z0-9._-]{0,200}$/.test(readable)) return `${FILE_PREFIX}${readable}.yaml`;
  const hash = createHash('sha256').update(identityKey(o)).digest('hex').slice(0, 16);
  return `${FILE_PREFIX}${readable.replace(/[^a-z0-9._-]/g, '_').slice(0, 100)}-${hash}.yaml`;
}

function indexFile(stateDir: string): string {
  return join(stateDir, APPLIED_INDEX_FILE);
}

export function readApplied(stateDir: string): AppliedEntry[] {
  const file = indexFile(stateDir);
  if (!existsSync(file)) return [];
  try {
    const index = JSON.parse(readFileSync(file, 'utf8')) as AppliedIndex;
    if (index.version !== 1 || !Array.isArray(index.objects)) throw new Error('not an applied-config index');
    return [...index.objects];
  } catch (err) {
    throw new MeshError('MESH_STATE_UNREADABLE', `${file}: ${(err as Error).message}`, { cause: err });
  }
}

function writeApplied(stateDir: string, objects: readonly AppliedEntry[]): void {
  mkdirSync(stateDir, { recursive: true });
  const file = indexFile(stateDir);
  const tmp = `${file}.tmp-${process.pid}`;
  const sorted = [...objects].sort((a, b) => identityKey(a).localeCompare(identityKey(b)));
  writeFileSync(tmp, `${JSON.stringify({ version: 1, objects: sorted } satisfies AppliedIndex, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Atomic, so istiod's watcher never reads half a file. */
export function writeConfigFile(path: string, text: string): void {
  const tmp = join(path, '..', `.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Refuses a batch that names one identity twice: which of the two should
 * win is a guess, and a guess could drop a DENY.
 */
export function checkDistinct(docs: readonly ApplyDocument[]): void {
  const seen = new Map<string, string>();
  for (const d of docs) {
    const key = identityKey(d);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new MeshError('MESH_APPLY_CONFLICT', `${describeIdentity(d)} is defined twice: ${first} and ${d.where}`);
    }
    seen.set(key, d.where);
  }
}

/** Writes each object into `configDir` under its identity and records it. */
export function applyDocuments(stateDir: string, dirs: ApplyDirs, docs: readonly ApplyDocument[]): ApplyOutcome[] {
  checkDistinct(docs);
  const index = new Map(readApplied(stateDir).map((e) => [identityKey(e), e]));
  const outcomes: ApplyOutcome[] = [];
  mkdirSync(dirs.configDir, { recursive: true });
  mkdirSync(dirs.workloadsDir, { recursive: true });
  for (const d of docs) {
    const text = `# applied by ambit mesh apply from ${d.source}\n${stringify(d.raw)}`;
    const body = stringify(d.raw);
    const digest = createHash('sha256').update(body).digest('hex');
    const file = appliedFileName(d);
    const previous = index.get(identityKey(d));
    const store = storeOf(d.kind);
    const entry: AppliedEntry = { kind: d.kind, namespace: d.namespace, name: d.name, source: d.source, file, digest, ...(store !== undefined ? { store } : {}) };
    const path = entryPath(dirs, entry);
    const action: ApplyAction =
      previous === undefined ? 'created' : previous.digest === digest && existsSync(path) ? 'unchanged' : 'configured';
    if (action !== 'unchanged' || previous?.source !== d.source) writeConfigFile(path, text);
    index.set(identityKey(d), entry);
    outcomes.push({
      entry,
      action,
      ...(previous !== undefined && previous.source !== d.source ? { previousSource: previous.source } : {}),
    });
  }
  writeApplied(stateDir, [...index.values()]);
  return outcomes;
}

/** Removes the named objects; identities that were never applied are returned as not found. */
export function deleteObjects(stateDir: string, dirs: ApplyDirs, identities: readonly ObjectIdentity[]): DeleteResult {
  const index = new Map(readApplied(stateDir).map((e) => [identityKey(e), e]));
  const deleted: AppliedEntry[] = [];
  const notFound: ObjectIdentity[] = [];
  for (const id of identities) {
    const key = identityKey(id);
    const entry = index.get(key);
    if (entry === undefined) {
      if (!notFound.some((n) => identityKey(n) === key)) notFound.push(id);
      continue;
    }
    rmSync(entryPath(dirs, entry), { force: true });
    index.delete(key);
    deleted.push(entry);
  }
  if (deleted.length > 0) writeApplied(stateDir, [...index.values()]);
  return { deleted, notFound };
}

/**
 * Finds applied objects by a `kind/namespace/name` or `kind/name` argument,
 * the kind matched case-insensitively; a namespace-less form matches
 * cluster-scoped objects only.
 */
export function parseIdentityArg(arg: string): ObjectIdentity {
  const parts = arg.split('/');
  if (parts.length === 3 && parts.every((p) => p !== '')) return { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  if (parts.length === 2 && parts.every((p) => p !== '')) return { kind: parts[0]!, namespace: '', name: parts[1]! };
  throw new MeshError('MESH_BAD_OPTION', `"${arg}": not kind/namespace/name (or kind/name for a cluster-scoped object)`);
}
