/**
 * Reading what `ambit mesh apply|delete -f` is given: files, directories
 * (recursively) and `-` for standard input, parsed and validated with
 * istiod's own reader, so what apply accepts is what istiod loads. Sources
 * are recorded as absolute paths.
 */
import { resolve } from 'node:path';
import { loadConfigFiles, parseConfigText, validateDocument, validatedKinds, type ParsedDocument } from '../istiod/index.js';
import { STDIN_SOURCE, type ApplyDocument } from './applied.js';
import { MeshError } from './state.js';

/** The `-f` value that means standard input. */
export const STDIN_ARG = '-';

export interface ApplyInput {
  readonly documents: readonly ApplyDocument[];
  /** One line per problem (`file[index] kind/ns/name: path: message`); non-empty means refuse. */
  readonly problems: readonly string[];
}

interface SourceText {
  /** As the user typed it, for messages. */
  readonly shown: string;
  /** Absolute path, or STDIN_SOURCE. */
  readonly source: string;
  readonly documents: readonly ParsedDocument[];
}

/** Document kinds that have no namespace (`Namespace`, `GatewayClass`). */
function clusterScopedKinds(): ReadonlySet<string> {
  return new Set(validatedKinds().filter((k) => !k.namespaced).map((k) => k.apiKind));
}

/**
 * `-n NS`, as kubectl applies it: a namespaced object without a namespace
 * gets NS; one that names another namespace is refused.
 */
function inNamespace(raw: unknown, namespace: string, where: string, problems: string[]): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const doc = raw as { kind?: unknown; metadata?: { namespace?: unknown } };
  if (typeof doc.kind !== 'string' || clusterScopedKinds().has(doc.kind)) return raw;
  const own = doc.metadata?.namespace;
  if (own === undefined || own === '') return { ...doc, metadata: { ...(doc.metadata ?? {}), namespace } };
  if (own !== namespace) {
    problems.push(`${where}: metadata.namespace: the namespace from the provided object "${String(own)}" does not match the namespace "${namespace}"; pass --namespace ${String(own)} or drop -n`);
  }
  return raw;
}

/**
 * Reads, parses and validates every `-f` argument; `readStdin` is called at
 * most once. `namespace` is `-n`: the namespace of objects that name none.
 */
export async function readApplyInput(args: readonly string[], readStdin: () => Promise<string>, namespace?: string): Promise<ApplyInput> {
  const problems: string[] = [];
  const sources: SourceText[] = [];
  let stdinRead = false;
  for (const arg of args) {
    if (arg === STDIN_ARG) {
      if (stdinRead) {
        problems.push('-f -: standard input is given twice');
        continue;
      }
      stdinRead = true;
      sources.push({ shown: STDIN_SOURCE, source: STDIN_SOURCE, documents: parseConfigText(await readStdin(), 'stdin.yaml') });
      continue;
    }
    for (const f of await loadConfigFiles([arg])) {
      if (f.kind === 'unreadable') problems.push(`${f.file}: ${f.error.message}`);
      else sources.push({ shown: f.file, source: resolve(f.file), documents: f.documents });
    }
  }
  const documents: ApplyDocument[] = [];
  for (const s of sources) {
    for (const doc of s.documents) {
      const where = `${s.shown}[${doc.index}]`;
      if (doc.kind === 'parse-error') {
        problems.push(`${where}: (document): ${doc.message}`);
        continue;
      }
      const raw = namespace === undefined ? doc.raw : inNamespace(doc.raw, namespace, where, problems);
      const r = validateDocument(raw, { source: 'file', file: s.shown, index: doc.index });
      if (r.kind === 'invalid') {
        for (const e of r.errors) problems.push(`${where} ${r.objectKind ?? '?'}/${r.namespace ?? '?'}/${r.name ?? '?'}: ${e.path}: ${e.message}`);
        continue;
      }
      const m = r.object.metadata;
      documents.push({ kind: r.object.kind, namespace: m.namespace, name: m.name, raw, object: r.object, where, source: s.source });
    }
  }
  if (problems.length === 0 && documents.length === 0) problems.push(`${args.join(', ')}: no configuration documents found`);
  return { documents, problems };
}

/** One object the mesh applies itself (a namespace, a label change), validated like any input. */
export function validatedDocument(raw: unknown, where: string, source: string): ApplyDocument {
  const r = validateDocument(raw, { source: 'file', file: where, index: 0 });
  if (r.kind === 'invalid') throw new MeshError('MESH_BAD_OPTION', `${where}: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const m = r.object.metadata;
  return { kind: r.object.kind, namespace: m.namespace, name: m.name, raw, object: r.object, where, source };
}
