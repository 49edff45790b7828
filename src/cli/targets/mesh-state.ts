/**
 * Where the debug commands find a mesh's node agents and istiods: a small
 * JSON file that `ambit mesh` writes in its state directory,
 *
 * ```json
 * { "nodes": [ { "name": "node-a", "adminAddress": "127.0.0.1:15000", "istiodMonitoring": "10.0.0.1:15014" } ] }
 * ```
 *
 * `adminAddress` is the node agent's admin listener (`/config_dump`) and
 * `istiodMonitoring` the monitoring listener (`/debug/syncz`) of the istiod
 * that node's agent talks to; both HOST:PORT, reachable from where the CLI
 * runs. An optional `instance` names the agent's pinned BPF instance.
 *
 * Without that file, the state `ambit mesh up` keeps in `mesh.json` is read
 * instead: `agents[].{node, adminAddress, instance}` and
 * `istiod.monitoringAddress`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTargetAddress, type TargetAddress } from './address.js';
import { TargetError } from './errors.js';

/** `--state-dir` default, relative to the working directory. */
export const DEFAULT_MESH_STATE_DIR = '.ambit/mesh';
/** The file inside the state directory. */
export const MESH_STATE_FILE = 'nodes.json';
/** The local mesh's own state file, read when there is no {@link MESH_STATE_FILE}. */
export const LOCAL_MESH_STATE_FILE = 'mesh.json';

export interface MeshNode {
  readonly name: string;
  readonly adminAddress: TargetAddress;
  readonly istiodMonitoring: TargetAddress;
  /** The agent's BPF instance, when the state says. */
  readonly instance?: string;
}

export interface MeshState {
  readonly file: string;
  /** Sorted by name; names are unique. */
  readonly nodes: readonly MeshNode[];
}

/** What `ambit mesh` writes: addresses as HOST:PORT text. */
export interface MeshStateDocument {
  readonly nodes: readonly {
    readonly name: string;
    readonly adminAddress: string;
    readonly istiodMonitoring: string;
    /** The agent's BPF instance (`--instance`). */
    readonly instance?: string;
  }[];
}

export function meshStateFile(stateDir: string): string {
  return join(stateDir, MESH_STATE_FILE);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a parsed state document; `file` only names it in messages. */
export function decodeMeshState(file: string, doc: unknown): MeshState {
  const invalid = (path: string, what: string): never => {
    throw new TargetError('MESH_STATE_INVALID', `${file}: ${path}: ${what}`);
  };
  if (!isRecord(doc)) return invalid('(root)', 'not a JSON object');
  const list = doc.nodes;
  if (!Array.isArray(list)) return invalid('nodes', 'not a list');
  const seen = new Set<string>();
  const nodes = list.map((entry: unknown, i): MeshNode => {
    const path = `nodes[${i}]`;
    if (!isRecord(entry)) return invalid(path, 'not an object');
    const text = (key: string): string => {
      const v = entry[key];
      return typeof v === 'string' && v !== ''
        ? v
        : invalid(`${path}.${key}`, 'missing or not a non-empty string');
    };
    const name = text('name');
    if (seen.has(name)) invalid(`${path}.name`, `"${name}" is listed twice`);
    seen.add(name);
    const address = (key: string): TargetAddress => {
      try {
        return parseTargetAddress(`${path}.${key}`, text(key));
      } catch (err) {
        if (err instanceof TargetError && err.code === 'TARGET_BAD_ADDRESS')
          return invalid(`${path}.${key}`, err.message);
        throw err;
      }
    };
    const instance = entry.instance === undefined ? undefined : text('instance');
    return {
      name,
      adminAddress: address('adminAddress'),
      istiodMonitoring: address('istiodMonitoring'),
      ...(instance === undefined ? {} : { instance }),
    };
  });
  return { file, nodes: nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** Maps the local mesh's state (`mesh.json`) onto the node list. */
export function decodeLocalMeshState(file: string, doc: unknown): MeshState {
  const invalid = (path: string, what: string): never => {
    throw new TargetError('MESH_STATE_INVALID', `${file}: ${path}: ${what}`);
  };
  if (!isRecord(doc)) return invalid('(root)', 'not a JSON object');
  const istiod = isRecord(doc.istiod) ? doc.istiod : invalid('istiod', 'not an object');
  const monitoring = istiod.monitoringAddress;
  if (typeof monitoring !== 'string') return invalid('istiod.monitoringAddress', 'not a string');
  if (!Array.isArray(doc.agents)) return invalid('agents', 'not a list');
  const nodes = doc.agents.map((a: unknown, i) => {
    if (!isRecord(a)) return invalid(`agents[${i}]`, 'not an object');
    return { name: a.node, adminAddress: a.adminAddress, istiodMonitoring: monitoring, instance: a.instance };
  });
  return decodeMeshState(file, { nodes });
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new TargetError(
      'MESH_STATE_MISSING',
      `${file}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TargetError(
      'MESH_STATE_INVALID',
      `${file}: not JSON: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Reads `<stateDir>/nodes.json`, else `<stateDir>/mesh.json`; undefined when neither exists. */
export function readMeshState(stateDir: string): MeshState | undefined {
  const file = meshStateFile(stateDir);
  const doc = readJson(file);
  if (doc !== undefined) return decodeMeshState(file, doc);
  const local = join(stateDir, LOCAL_MESH_STATE_FILE);
  const localDoc = readJson(local);
  return localDoc === undefined ? undefined : decodeLocalMeshState(local, localDoc);
}

/** Like {@link readMeshState}, but a missing file is an error that says how to get one. */
export function requireMeshState(
  stateDir: string,
  alternative = 'name the target with --admin HOST:PORT',
): MeshState {
  const state = readMeshState(stateDir);
  if (state === undefined) {
    throw new TargetError(
      'MESH_STATE_MISSING',
      `no mesh state at ${meshStateFile(stateDir)} or ${join(stateDir, LOCAL_MESH_STATE_FILE)}; start the mesh with \`ambit mesh up\`, pass --state-dir, or ${alternative}`,
    );
  }
  return state;
}

/** Writes the state file atomically (temp file, then rename). */
export function writeMeshState(stateDir: string, doc: MeshStateDocument): string {
  const file = meshStateFile(stateDir);
  mkdirSync(stateDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
  return file;
}

/** The node called `name`; an unknown name fails listing the known ones. */
export function findMeshNode(state: MeshState, name: string): MeshNode {
  const node = state.nodes.find((n) => n.name === name);
  if (node === undefined) {
    const known = state.nodes.map((n) => n.name).join(', ');
    throw new TargetError(
      'MESH_UNKNOWN_NODE',
      `no node "${name}" in ${state.file}${known === '' ? ' (it lists no nodes)' : `; known nodes: ${known}`}`,
    );
  }
  return node;
}
