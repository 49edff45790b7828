/**
 * The directory config source (the embedded default): every *.yaml, *.yml
 * and *.json file under a directory, multi-document files included, watched
 * for changes. Each object is tracked by the file it came from. A file that
 * fails to parse, or an object that fails validation, is reported (file,
 * document index, kind/name, field path) and the last good version of what
 * it held stays in force; the rest of the directory still loads.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from '../../../shared/logging.js';
import { silentLogger } from '../../../shared/logging.js';
import { parseConfigText } from '../parse.js';
import type { ConfigStore } from '../store.js';
import { keyOf, type AnyConfigObject, type ConfigKind, type FieldError } from '../types.js';
import { validateDocument } from '../validation/index.js';

const CONFIG_FILE = /\.(ya?ml|json)$/i;

/** A problem with one document (or a whole file) of the directory. */
export interface ConfigProblem {
  readonly file: string;
  /** Document index inside the file; absent when the file as a whole failed. */
  readonly index?: number;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly errors: readonly FieldError[];
}

export interface DirectorySourceOptions {
  readonly dir: string;
  /** Delay after the last file event before reloading. */
  readonly debounceMs?: number;
  readonly logger?: Logger;
  /** Called after every load with the problems found in it (empty when all is well). */
  readonly onLoad?: (problems: readonly ConfigProblem[]) => void;
}

interface FileState {
  readonly hash: string;
  /** Keys of the objects this file holds now (valid ones and kept last-good ones). */
  readonly keys: ReadonlySet<string>;
  /** Document index -> key, so an invalid document without a usable name keeps its last good object. */
  readonly keyByIndex: ReadonlyMap<number, string>;
  readonly problems: readonly ConfigProblem[];
}

export class DirectorySource {
  private readonly dir: string;
  private readonly debounceMs: number;
  private readonly log: Logger;
  private readonly onLoad: ((problems: readonly ConfigProblem[]) => void) | undefined;
  private readonly files = new Map<string, FileState>();
  /** The last good object for every key any file holds. */
  private readonly good = new Map<string, AnyConfigObject>();
  /**
   * One non-recursive watcher per directory of the tree. Node 20's recursive
   * `fs.watch` on Linux watches each file's inode, so after the first
   * atomic replace (write a temp file, rename it over) of a file it reports
   * nothing more for that file; a directory's own inotify watch reports
   * every rename into it.
   */
  private readonly watchers = new Map<string, FSWatcher>();
  private watching = false;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private reloadAgain = false;

  constructor(
    private readonly store: ConfigStore,
    options: DirectorySourceOptions,
  ) {
    this.dir = options.dir;
    this.debounceMs = options.debounceMs ?? 100;
    this.log = (options.logger ?? silentLogger).child({ component: 'config-dir' });
    this.onLoad = options.onLoad;
  }

  /** Problems of the current state, for `/debug/configz` and metrics. */
  problems(): ConfigProblem[] {
    return [...this.files.values()].flatMap((f) => f.problems);
  }

  /** Loads the directory once and starts watching it. Fails if the directory cannot be read. */
  async start(): Promise<void> {
    await stat(this.dir).catch((err: unknown) => {
      throw new Error(`config directory ${this.dir} cannot be read: ${String((err as NodeJS.ErrnoException).code ?? err)}`);
    });
    // Watchers are set up by the first load, so nothing written after its listing is missed.
    this.watching = true;
    await this.reload();
  }

  async stop(): Promise<void> {
    this.watching = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.loading;
  }

  /** Re-reads every file now; concurrent calls are coalesced into one more pass. */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.loadOnce();
        } while (this.reloadAgain);
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload().catch((err: unknown) => this.log.error({ err }, 'config directory reload failed'));
    }, this.debounceMs);
  }

  /** Watches every directory of the tree (and only those); a newly watched one is listed again. */
  private syncWatchers(dirs: readonly string[]): void {
    if (!this.watching) return;
    const wanted = new Set(dirs);
    for (const [d, w] of this.watchers) {
      if (wanted.has(d)) continue;
      w.close();
      this.watchers.delete(d);
    }
    for (const d of dirs) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, () => this.schedule());
        w.on('error', (err) => this.log.warn({ err, dir: d }, 'config directory watch failed'));
        this.watchers.set(d, w);
      } catch (err) {
        // Removed between listing and watching: the parent's watcher saw that.
        this.log.warn({ err, dir: d }, 'config directory watch failed');
        continue;
      }
      // Files written into it before its watcher existed are picked up by one more pass.
      if (d !== this.dir) this.reloadAgain = true;
    }
  }

  private async loadOnce(): Promise<void> {
    const { files: paths, dirs } = await walkConfigTree(this.dir);
    this.syncWatchers(dirs);
    const seen = new Set<string>();
    const changed = new Map<string, FileState>();
    for (const path of paths) {
      const file = relative(this.dir, path) || path;
      seen.add(file);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        // Vanished between listing and reading: the next event reloads it.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          seen.delete(file);
          continue;
        }
        throw err;
      }
      const hash = createHash('sha256').update(text).digest('hex');
      if (this.files.get(file)?.hash === hash) continue;
      changed.set(file, this.loadFile(file, text, hash));
    }
    const removedFiles = [...this.files.keys()].filter((f) => !seen.has(f));
    if (changed.size === 0 && removedFiles.length === 0) return;

    for (const f of removedFiles) this.files.delete(f);
    for (const [f, state] of changed) this.files.set(f, state);
    this.commit();

    const problems = this.problems();
    for (const p of problems) {
      if (!changed.has(p.file)) continue;
      this.log.warn(
        { file: p.file, index: p.index, kind: p.kind, name: p.name, namespace: p.namespace, errors: p.errors },
        'invalid config kept out; last good version stays',
      );
    }
    this.log.info({ files: this.files.size, objects: this.good.size, problems: problems.length }, 'config directory loaded');
    this.onLoad?.(problems);
  }

  /** Parses and validates one file; invalid documents keep the last good object they held. */
  private loadFile(file: string, text: string, hash: string): FileState {
    const previous = this.files.get(file);
    const keys = new Set<string>();
    const keyByIndex = new Map<number, string>();
    const problems: ConfigProblem[] = [];
    const keepPrevious = (index: number, key: string | undefined): void => {
      const k = key !== undefined && previous?.keys.has(key) ? key : previous?.keyByIndex.get(index);
      if (k !== undefined && this.good.has(k)) {
        keys.add(k);
        keyByIndex.set(index, k);
      }
    };

    for (const doc of parseConfigText(text, file)) {
      if (doc.kind === 'parse-error') {
        problems.push({ file, index: doc.index, errors: [{ path: '(document)', message: doc.message }] });
        // A document that does not parse keeps whatever it held before.
        keepPrevious(doc.index, undefined);
        continue;
      }
      const result = validateDocument(doc.raw, { source: 'file', file, index: doc.index });
      if (result.kind === 'valid') {
        const key = keyOf(result.object);
        keys.add(key);
        keyByIndex.set(doc.index, key);
        this.good.set(key, result.object);
        continue;
      }
      problems.push({
        file,
        index: doc.index,
        ...(result.objectKind !== undefined ? { kind: result.objectKind } : {}),
        ...(result.name !== undefined ? { name: result.name } : {}),
        ...(result.namespace !== undefined ? { namespace: result.namespace } : {}),
        errors: result.errors,
      });
      const key =
        result.objectKind !== undefined && result.name !== undefined
          ? `${result.objectKind}/${result.namespace ?? 'default'}/${result.name}`
          : undefined;
      keepPrevious(doc.index, key);
    }
    return { hash, keys, keyByIndex, problems };
  }

  /** Writes the union of every file's objects to the store in one batch. */
  private commit(): void {
    const wanted = new Map<string, AnyConfigObject>();
    for (const state of this.files.values()) {
      for (const key of state.keys) {
        const obj = this.good.get(key);
        if (obj !== undefined) wanted.set(key, obj);
      }
    }
    for (const key of [...this.good.keys()]) if (!wanted.has(key)) this.good.delete(key);

    this.store.batch(() => {
      for (const obj of wanted.values()) this.store.upsert(obj);
      for (const obj of this.store.all()) {
        if (obj.origin.source === 'file' && !wanted.has(keyOf(obj))) {
          this.store.delete(obj.kind as ConfigKind, obj.metadata.namespace, obj.metadata.name);
        }
      }
    });
  }
}

/** Every config file under `dir`, recursively, sorted; hidden entries (editor swap files, ..data links) skipped. */
export async function listConfigFiles(dir: string): Promise<string[]> {
  return (await walkConfigTree(dir)).files;
}

/** The config files under `dir` and the directories holding them (`dir` first), hidden entries skipped. */
async function walkConfigTree(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (d: string): Promise<void> => {
    dirs.push(d);
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && CONFIG_FILE.test(e.name)) files.push(p);
    }
  };
  await walk(dir);
  return { files: files.sort(), dirs };
}
