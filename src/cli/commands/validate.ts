/**
 * `ambit validate -f FILE|DIR [-f ...] [-o json]`: checks configuration
 * files offline with the same validation istiod applies when it loads them.
 * Exit 0 when every object is valid, 1 when any object is invalid or a file
 * cannot be read, 2 on a usage error.
 */
import { Option, type Command } from 'commander';
import { loadConfigFiles, parseConfigText, type LoadedFile } from '../../istiod/index.js';
import { DOCUMENT_PATH, validateDocument } from '../../istiod/index.js';
import type { FieldError } from '../../istiod/index.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';

/** The path reported for a file that could not be read at all. */
export const FILE_PATH = '(file)';

/** One line of the report: an object (or a document/file that never became one). */
export interface ValidateEntry {
  readonly file: string;
  /** Position of the document in the file; null when the file itself could not be read. */
  readonly index: number | null;
  readonly kind: string | null;
  readonly name: string | null;
  readonly namespace: string | null;
  readonly valid: boolean;
  readonly errors: readonly FieldError[];
}

/** Validates every document of the loaded files, in file and document order. */
export function validateLoadedFiles(files: readonly LoadedFile[]): ValidateEntry[] {
  const entries: ValidateEntry[] = [];
  for (const f of files) {
    if (f.kind === 'unreadable') {
      entries.push({
        file: f.file,
        index: null,
        kind: null,
        name: null,
        namespace: null,
        valid: false,
        errors: [{ path: FILE_PATH, message: f.error.message }],
      });
      continue;
    }
    for (const doc of f.documents) {
      if (doc.kind === 'parse-error') {
        const where = doc.line !== undefined ? ` (line ${doc.line})` : '';
        entries.push({
          file: f.file,
          index: doc.index,
          kind: null,
          name: null,
          namespace: null,
          valid: false,
          errors: [{ path: DOCUMENT_PATH, message: `${doc.message}${where}` }],
        });
        continue;
      }
      const result = validateDocument(doc.raw, { source: 'file', file: f.file, index: doc.index });
      if (result.kind === 'valid') {
        const o = result.object;
        entries.push({
          file: f.file,
          index: doc.index,
          kind: o.kind,
          name: o.metadata.name,
          namespace: o.metadata.namespace,
          valid: true,
          errors: [],
        });
      } else {
        entries.push({
          file: f.file,
          index: doc.index,
          kind: result.objectKind ?? null,
          name: result.name ?? null,
          namespace: result.namespace ?? null,
          valid: false,
          errors: result.errors,
        });
      }
    }
  }
  return entries;
}

function identity(e: ValidateEntry): string {
  if (e.kind === null) return '';
  return ` ${e.kind}/${e.namespace ?? ''}/${e.name ?? ''}`;
}

/** The human report: one line per problem, then a summary line. */
export function formatText(entries: readonly ValidateEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.valid) continue;
    const where = e.index === null ? e.file : `${e.file}[${e.index}]`;
    for (const err of e.errors) {
      // An unreadable file's message already names the file.
      lines.push(e.index === null ? err.message : `${where}${identity(e)}: ${err.path}: ${err.message}`);
    }
  }
  const unreadable = entries.filter((e) => e.index === null).length;
  const objects = entries.length - unreadable;
  const invalid = entries.filter((e) => !e.valid && e.index !== null).length;
  const problems = entries.reduce((n, e) => n + e.errors.length, 0);
  let summary = `${objects} ${objects === 1 ? 'object' : 'objects'} checked: ${objects - invalid} valid, ${invalid} invalid`;
  if (problems > 0) summary += ` (${problems} ${problems === 1 ? 'problem' : 'problems'})`;
  if (unreadable > 0) summary += `; ${unreadable} unreadable ${unreadable === 1 ? 'file' : 'files'}`;
  lines.push(summary);
  return `${lines.join('\n')}\n`;
}

/** `-f -` reads YAML from standard input, as kubectl does. */
export const STDIN_PATH = '-';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Loads the named paths in order; `-` stands for standard input (read once). */
async function loadInputs(paths: readonly string[]): Promise<LoadedFile[]> {
  const out: LoadedFile[] = [];
  let stdin: string | undefined;
  for (const p of paths) {
    if (p === STDIN_PATH) {
      stdin ??= await readStdin();
      out.push({ kind: 'parsed', file: STDIN_PATH, documents: parseConfigText(stdin, STDIN_PATH) });
    } else {
      out.push(...(await loadConfigFiles([p])));
    }
  }
  return out;
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('Validate Kubernetes and Istio configuration files (YAML or JSON) as istiod would')
    .requiredOption(
      '-f, --filename <path>',
      'a file, a directory (searched recursively for *.yaml, *.yml, *.json) or - for stdin; repeatable',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { filename: string[]; output: 'text' | 'json' }) => {
      const files = await loadInputs(opts.filename);
      const entries = validateLoadedFiles(files);
      process.stdout.write(
        opts.output === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : formatText(entries),
      );
      process.exitCode = entries.every((e) => e.valid) ? EXIT_OK : EXIT_FAILURE;
    });
}
