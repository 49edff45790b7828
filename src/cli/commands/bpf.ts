/**
 * `ambit bpf status|pods|maps`: the node's capture state read straight from
 * bpffs (`<bpffs-root>/ambit/<instance>/`), so it works while the agent is
 * down. Needs the native addon and the privileges to open pinned objects.
 * Exit codes: 0 printed, 1 nothing pinned for the instance or bpffs could
 * not be read, 2 usage error.
 */
import { Command, Option } from 'commander';
import {
  DEFAULT_BPFFS_ROOT,
  RedirectError,
  instancePinDir,
  readRedirectStatus,
  type RedirectStatus,
} from '../../ztunnel/index.js';
import { mapRows, mapTable, podTable, statusText } from '../render/bpf-tables.js';
import { renderJson } from '../render/structured.js';
import { EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { TargetError } from '../targets/errors.js';
import { DEFAULT_MESH_STATE_DIR, findMeshNode, requireMeshState } from '../targets/mesh-state.js';

/** The instance `ambit ztunnel` pins under unless told otherwise. */
export const DEFAULT_BPF_INSTANCE = 'default';

interface Flags {
  instance: string;
  node?: string;
  stateDir: string;
  bpffsRoot: string;
  output: 'table' | 'json';
}

type View = 'status' | 'pods' | 'maps';

const VIEWS: readonly { readonly name: View; readonly description: string }[] = [
  {
    name: 'status',
    description: 'pin directory, loaded programs and maps, enrolled pod count and decision counters',
  },
  {
    name: 'pods',
    description: 'enrolled pods: UID, IPs, netns cookie, cgroup id, inbound listener, attached links',
  },
  { name: 'maps', description: 'pinned maps and how many entries each holds, where known' },
];

/** The instance the agent of `node` pins under, from the mesh state. */
export function nodeInstance(stateDir: string, node: string): string {
  const n = findMeshNode(requireMeshState(stateDir, 'pass --instance NAME'), node);
  if (n.instance === undefined) {
    throw new TargetError(
      'MESH_STATE_INVALID',
      `the mesh state does not say which BPF instance the agent of node ${node} uses; pass --instance`,
    );
  }
  return n.instance;
}

/** Reads an instance's state; a missing instance is a {@link TargetError} (BPF_NOT_PINNED) saying how it gets there. */
export function readInstance(instance: string, bpffsRoot: string): RedirectStatus {
  const status = readRedirectStatus({ instance, bpffsRoot });
  if (!status.pinned) {
    throw new TargetError(
      'BPF_NOT_PINNED',
      `no ambit BPF state pinned at ${status.pinDir}; is \`ambit ztunnel\` running with --instance ${instance}?`,
    );
  }
  return status;
}

export function renderView(view: View, status: RedirectStatus, output: 'table' | 'json'): string {
  if (output === 'json') {
    if (view === 'pods') return renderJson(status.pods);
    if (view === 'maps')
      return renderJson(mapRows(status).map((m) => ({ name: m.name, entries: m.entries ?? null })));
    return renderJson(status);
  }
  if (view === 'pods') return podTable(status);
  if (view === 'maps') return mapTable(status);
  return statusText(status);
}

export function registerBpf(program: Command): void {
  const bpf = program
    .command('bpf')
    .description("show the node's pinned eBPF capture state (works while the agent is down)");
  for (const v of VIEWS) {
    bpf
      .command(v.name)
      .description(v.description)
      .addOption(
        new Option('--instance <name>', 'the agent instance whose pins to read')
          .default(DEFAULT_BPF_INSTANCE)
          .conflicts('node'),
      )
      .option('--node <name>', "the instance of this node's agent, from the mesh state")
      .option('--state-dir <dir>', 'where `ambit mesh` keeps its state', DEFAULT_MESH_STATE_DIR)
      .option('--bpffs-root <dir>', 'where bpffs is mounted', DEFAULT_BPFFS_ROOT)
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
      )
      .action((_opts: unknown, self: Command) => {
        const f = self.opts<Flags>();
        const instance = f.node === undefined ? f.instance : nodeInstance(f.stateDir, f.node);
        try {
          instancePinDir(instance, f.bpffsRoot);
        } catch (err) {
          if (err instanceof RedirectError && err.code === 'REDIRECT_BAD_INSTANCE') {
            self.error(`error: --instance: ${err.message}`, { exitCode: EXIT_USAGE, code: 'ambit.usage' });
          }
          throw err;
        }
        process.stdout.write(renderView(v.name, readInstance(instance, f.bpffsRoot), f.output));
        process.exitCode = EXIT_OK;
      });
  }
}
