/**
 * Turns configuration files into raw documents: multi-document YAML, or JSON
 * (one object, a `{"items": [...]}` list, or an array of objects). A
 * document that does not parse is reported with its position and does not
 * hide the documents around it. Validation (validation/) comes next.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { errorMessage } from '../../shared/errors.js';
import { ConfigError } from './errors.js';

export type ParsedDocument =
  /** `index` is the zero-based position of the document in its file (or in a JSON list). */
  | { readonly kind: 'document'; readonly index: number; readonly raw: unknown }
  | {
      readonly kind: 'parse-error';
      readonly index: number;
      readonly message: string;
      readonly line?: number;
    };

/** File extensions a directory scan picks up. */
export const CONFIG_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/**
 * YAML aliases expand; cap them so a small file cannot expand into a huge
 * object. Merge keys (`<<: *base`) are honoured as Kubernetes' YAML reader does.
 */
const MAX_ALIAS_COUNT = 100;

function isJsonFile(file: string): boolean {
  return extname(file).toLowerCase() === '.json';
}

/** 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function parseJson(text: string): ParsedDocument[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = errorMessage(err);
    const pos = /position (\d+)/.exec(message);
    return [
      {
        kind: 'parse-error',
        index: 0,
        message: `invalid JSON: ${message}`,
        ...(pos?.[1] !== undefined ? { line: lineAt(text, Number(pos[1])) } : {}),
      },
    ];
  }
  if (Array.isArray(value)) return value.map((raw, index) => ({ kind: 'document', index, raw }));
  if (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Record<string, unknown>)['items'])
  ) {
    const kind = (value as Record<string, unknown>)['kind'];
    // `kubectl get -o json` wraps objects in a List (or FooList); any other object with `items` is a document.
    if (kind === undefined || (typeof kind === 'string' && kind.endsWith('List'))) {
      const items = (value as { items: unknown[] }).items;
      return items.map((raw, index) => ({ kind: 'document', index, raw }));
    }
  }
  return [{ kind: 'document', index: 0, raw: value }];
}

function parseYaml(text: string): ParsedDocument[] {
  const out: ParsedDocument[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, merge: true });
  // An empty stream parses to a single empty marker rather than a list.
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, index) => {
    const first = doc.errors[0];
    if (first !== undefined) {
      const line = first.linePos?.[0]?.line;
      out.push({
        kind: 'parse-error',
        index,
        message: `invalid YAML: ${(first.message.split('\n')[0] ?? first.message).replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(line !== undefined ? { line } : {}),
      });
      return;
    }
    // Empty documents (`---` with nothing after it, comments only) are skipped, keeping positions.
    if (doc.contents === null) return;
    try {
      const raw: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      if (raw === null || raw === undefined) return;
      out.push({ kind: 'document', index, raw });
    } catch (err) {
      out.push({ kind: 'parse-error', index, message: `invalid YAML: ${errorMessage(err)}` });
    }
  });
  return out;
}

/**
 * Splits the text of one file into documents. `file` decides the format
 * (`.json` is JSON, anything else YAML); JSON is also valid YAML, but the
 * JSON reader gives list semantics and better positions.
 */
export function parseConfigText(text: string, file: string): ParsedDocument[] {
  return isJsonFile(file) ? parseJson(text) : parseYaml(text);
}

export type LoadedFile =
  | { readonly kind: 'parsed'; readonly file: string; readonly documents: readonly ParsedDocument[] }
  | { readonly kind: 'unreadable'; readonly file: string; readonly error: ConfigError };

function hasConfigExtension(name: string): boolean {
  return CONFIG_EXTENSIONS.includes(extname(name).toLowerCase());
}

/**
 * Lists the config files under `dir`, recursively, sorted by path. Entries
 * whose names start with "." are skipped (Kubernetes ConfigMap volumes keep
 * a second copy of every file under `..data`). Directory symlink loops are
 * followed only once.
 */
async function walk(dir: string, seen: Set<string>, out: string[]): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  for (const name of names) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st === undefined) continue; // a dangling symlink is not a config file
    if (st.isDirectory()) await walk(path, seen, out);
    else if (st.isFile() && hasConfigExtension(name)) out.push(path);
  }
}

/**
 * Expands `paths` (files and directories, directories recursively to
 * `*.yaml|*.yml|*.json` in sorted order) and parses every file. A path
 * named explicitly is read whatever its extension. Files that cannot be
 * read are returned as `unreadable`, in order, instead of failing the rest.
 */
export async function loadConfigFiles(paths: readonly string[]): Promise<LoadedFile[]> {
  const files: { file: string; error?: ConfigError }[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      files.push({
        file: p,
        error: new ConfigError('CONFIG_READ_FAILED', `${p}: ${errorMessage(err)}`, { cause: err }),
      });
      continue;
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      try {
        await walk(resolve(p), new Set(), found);
      } catch (err) {
        files.push({
          file: p,
          error: new ConfigError('CONFIG_READ_FAILED', `${p}: ${errorMessage(err)}`, { cause: err }),
        });
        continue;
      }
      // Report paths relative to what the user typed.
      const base = resolve(p);
      for (const f of found) files.push({ file: join(p, f.slice(base.length + 1)) });
    } else if (st.isFile()) {
      files.push({ file: p });
    } else {
      files.push({
        file: p,
        error: new ConfigError('CONFIG_UNSUPPORTED_FILE', `${p}: not a regular file or directory`),
      });
    }
  }
  const out: LoadedFile[] = [];
  for (const { file, error } of files) {
    if (error !== undefined) {
      out.push({ kind: 'unreadable', file, error });
      continue;
    }
    try {
      const text = await readFile(file, 'utf8');
      out.push({ kind: 'parsed', file, documents: parseConfigText(text, file) });
    } catch (err) {
      out.push({
        kind: 'unreadable',
        file,
        error: new ConfigError('CONFIG_READ_FAILED', `${file}: ${errorMessage(err)}`, { cause: err }),
      });
    }
  }
  return out;
}
