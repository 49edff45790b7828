/**
 * Renders deploy/ kustomizations with `kubectl kustomize` and gives typed
 * access to the objects the manifest tests look into.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type Obj = Record<string, unknown>;

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

const RENDER_TIMEOUT_MS = 60_000;

/** `kubectl kustomize <dir> [extra args]` as a list of objects; throws with kubectl's stderr on failure. */
export function render(dir: string, extraArgs: readonly string[] = []): K8sObject[] {
  const run = spawnSync('kubectl', ['kustomize', ...extraArgs, dir], { cwd: REPO_ROOT, encoding: 'utf8', timeout: RENDER_TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (run.error !== undefined) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'kubectl is not on PATH: the manifest tests render deploy/ with `kubectl kustomize` (scripts/setup.sh installs kubernetes-client when kubectl is missing)'
        : `kubectl kustomize ${dir}: ${run.error.message}`,
    );
  }
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} exited ${run.status}: ${run.stderr}`);
  return parseStream(run.stdout, dir);
}

/**
 * The version of kubectl's built-in kustomize (`v5.5.0`), or undefined when
 * kubectl does not report one (kubectl before 1.21 embeds kustomize v2.0.3).
 */
export function kustomizeVersion(): string | undefined {
  const run = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: RENDER_TIMEOUT_MS });
  return /Kustomize Version:\s*(v[\d.]+)/.exec(run.stdout ?? '')?.[1];
}

export function parseStream(text: string, what: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${what}: YAML error: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObj(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string' || !isObj(value.metadata)) {
      throw new Error(`${what}: a document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    }
    out.push(value as unknown as K8sObject);
  }
  return out;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a nested field by path; undefined when any step is missing. */
export function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = v;
  for (const p of path) {
    if (typeof p === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[p];
    } else {
      if (!isObj(cur)) return undefined;
      cur = cur[p];
    }
  }
  return cur;
}

export function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

export function find(objects: readonly K8sObject[], kind: string, name: string, namespace?: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name && (namespace === undefined || x.metadata.namespace === namespace));
  if (o === undefined) throw new Error(`no ${kind} ${namespace === undefined ? '' : `${namespace}/`}${name} in the rendered manifests`);
  return o;
}

export function podSpec(workload: K8sObject): Obj {
  const spec = at(workload, 'spec', 'template', 'spec');
  if (!isObj(spec)) throw new Error(`${workload.kind} ${workload.metadata.name}: no spec.template.spec`);
  return spec;
}

export function container(workload: K8sObject, name: string, field: 'containers' | 'initContainers' = 'containers'): Obj {
  const c = list(podSpec(workload)[field]).find((x) => x.name === name);
  if (c === undefined) throw new Error(`${workload.kind} ${workload.metadata.name}: no ${field} entry ${name}`);
  return c;
}

/** A command's arguments as flag -> value (`--a=b`, `--a b` and bare `--a` as "true"), after the subcommand. */
export function flagsOf(args: readonly string[], subcommand: string): Map<string, string> {
  if (args[0] !== subcommand) throw new Error(`args start with ${JSON.stringify(args[0])}, not the ${subcommand} subcommand`);
  const out = new Map<string, string>();
  for (let i = 1; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--')) throw new Error(`argument ${JSON.stringify(a)} is not a --flag`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(0, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !(args[i + 1] ?? '').startsWith('--')) out.set(a, args[++i] ?? '');
    else out.set(a, 'true');
  }
  return out;
}

export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}
