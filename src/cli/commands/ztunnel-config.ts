/**
 * `ambit ztunnel-config` (alias `zc`): what a node agent holds, read from its
 * admin `/config_dump`, printed as istioctl's `ztunnel-config` prints it.
 *
 * The agent is `--admin HOST:PORT`, or the agent of `--node NAME` looked up
 * in the mesh state (`--state-dir`), or 127.0.0.1:15000; `-f FILE` reads a
 * saved dump instead. Exit codes: 0 printed, 1 the agent could not be
 * reached or read, 2 usage error.
 */
import { Command, Option } from 'commander';
import {
  allTables,
  certificateTable,
  connectionTable,
  filterPolicies,
  filterServices,
  filterWorkloads,
  policyTable,
  serviceTable,
  workloadTable,
  type ConnectionFilter,
} from '../render/ztunnel-tables.js';
import { OUTPUT_CHOICES, outputFormat, renderStructured, type OutputFormat } from '../render/structured.js';
import { fetchConfigDump, readConfigDumpFile, type ConfigDump } from '../targets/config-dump.js';
import { TargetError } from '../targets/errors.js';
import { DEFAULT_FETCH_TIMEOUT_MS } from '../targets/http-get.js';
import { DEFAULT_MESH_STATE_DIR } from '../targets/mesh-state.js';
import { resolveAgent } from '../targets/resolve.js';
import { EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

interface CommonFlags {
  admin?: string;
  node?: string;
  stateDir: string;
  file?: string;
  output: string;
  timeout: string;
}

interface SectionFlags extends CommonFlags {
  workloadNamespace?: string;
  workloadNode?: string;
  address?: string;
  serviceNamespace?: string;
  policyNamespace?: string;
  direction?: 'inbound' | 'outbound';
  raw?: boolean;
  headers?: boolean;
}

/** One subcommand: its names, its filters, and what it prints. */
interface Section {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly options: readonly Option[];
  readonly table: (dump: ConfigDump, f: SectionFlags) => string;
  readonly data: (dump: ConfigDump, f: SectionFlags) => unknown;
}

function connectionFilter(f: SectionFlags): ConnectionFilter {
  return { namespace: f.workloadNamespace, direction: f.direction, raw: f.raw };
}

const SECTIONS: readonly Section[] = [
  {
    name: 'workloads',
    aliases: ['workload', 'w'],
    description: 'workloads the agent knows: NAMESPACE, POD NAME, ADDRESS, NODE, WAYPOINT, PROTOCOL',
    options: [
      new Option('--workload-namespace <ns>', 'only workloads of this namespace'),
      new Option('--workload-node <node>', 'only workloads on this node'),
      new Option('--address <ip>', 'only the workload with this IP'),
    ],
    table: (d, f) =>
      workloadTable(d, { namespace: f.workloadNamespace, node: f.workloadNode, address: f.address }),
    data: (d, f) =>
      filterWorkloads(d, { namespace: f.workloadNamespace, node: f.workloadNode, address: f.address }).map(
        (w) => w.raw,
      ),
  },
  {
    name: 'services',
    aliases: ['service', 'svc', 's'],
    description:
      'services the agent knows: NAMESPACE, SERVICE NAME, SERVICE VIP, WAYPOINT, ENDPOINTS (healthy/total)',
    options: [new Option('--service-namespace <ns>', 'only services of this namespace')],
    table: (d, f) => serviceTable(d, { namespace: f.serviceNamespace }),
    data: (d, f) => filterServices(d, { namespace: f.serviceNamespace }).map((s) => s.raw),
  },
  {
    name: 'policies',
    aliases: ['policy', 'pol', 'p'],
    description: 'authorization policies the agent holds: NAMESPACE, POLICY NAME, ACTION, SCOPE',
    options: [new Option('--policy-namespace <ns>', 'only policies of this namespace')],
    table: (d, f) => policyTable(d, { namespace: f.policyNamespace }),
    data: (d, f) => filterPolicies(d, { namespace: f.policyNamespace }).map((p) => p.raw),
  },
  {
    name: 'certificates',
    aliases: ['certificate', 'certs', 'cert'],
    description: 'workload certificates: one row per certificate of each identity (Leaf, Intermediate, Root)',
    options: [],
    table: (d) => certificateTable(d),
    data: (d) => d.certificates.map((c) => c.raw),
  },
  {
    name: 'connections',
    aliases: ['cons'],
    description: 'live connections per workload: WORKLOAD, DIRECTION, LOCAL, REMOTE, REMOTE TARGET, PROTOCOL',
    options: [
      new Option('--workload-namespace <ns>', 'only connections of workloads in this namespace'),
      new Option('--direction <direction>', 'only this direction').choices(['inbound', 'outbound']),
      new Option('--raw', 'print addresses as they are, without service and workload names'),
    ],
    table: (d, f) => connectionTable(d, connectionFilter(f)),
    data: (d, f) =>
      d.rawConnections
        .filter((r) => f.workloadNamespace === undefined || r.namespace === f.workloadNamespace)
        .filter((r) => f.direction === undefined || r.direction === undefined || r.direction === f.direction)
        .map((r) => r.raw),
  },
  {
    name: 'all',
    aliases: [],
    description:
      'the five tables (workloads, services, policies, certificates, connections); -o json|yaml prints the whole dump',
    options: [
      new Option(
        '--with-headers',
        'print a ------ <SECTION> INFO ------ line before each table (the default)',
      ),
      new Option('--no-headers', 'omit the section lines'),
    ],
    table: (d, f) => allTables(d, { withHeaders: f.headers !== false }),
    data: (d) => d.raw,
  },
];

function addCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--admin <host:port>', "the agent's admin listener (default 127.0.0.1:15000)").conflicts([
        'node',
        'file',
      ]),
    )
    .addOption(new Option('--node <name>', 'the agent of this node, from the mesh state').conflicts('file'))
    .option('--state-dir <dir>', 'where `ambit mesh` keeps its state (nodes.json)', DEFAULT_MESH_STATE_DIR)
    .addOption(new Option('-f, --file <path>', 'read a saved /config_dump instead of asking an agent'))
    .addOption(
      new Option('-o, --output <format>', 'output format (short = table)')
        .choices([...OUTPUT_CHOICES])
        .default('table'),
    )
    .option('--timeout <ms>', 'how long to wait for the agent', String(DEFAULT_FETCH_TIMEOUT_MS));
}

async function loadDump(f: CommonFlags, usage: (message: string) => never): Promise<ConfigDump> {
  if (f.file !== undefined) return readConfigDumpFile(f.file);
  const timeoutMs = Number(f.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    usage(`--timeout "${f.timeout}": not a positive number of milliseconds`);
  let target;
  try {
    target = resolveAgent({ ...f, notice: (line) => process.stderr.write(`ambit ztunnel-config: ${line}\n`) });
  } catch (err) {
    if (err instanceof TargetError && err.code === 'TARGET_BAD_ADDRESS') usage(err.message);
    throw err;
  }
  return fetchConfigDump(target.address, { hint: target.hint, timeoutMs });
}

/** Prints one section of a dump in the requested format. */
export function renderSection(
  section: string,
  dump: ConfigDump,
  format: OutputFormat,
  flags: Partial<SectionFlags> = {},
): string {
  const s = SECTIONS.find((x) => x.name === section);
  if (s === undefined) throw new Error(`unknown section ${section}`);
  const f = { stateDir: '', output: format, timeout: '', ...flags } as SectionFlags;
  return format === 'table' ? s.table(dump, f) : renderStructured(format, s.data(dump, f));
}

export function registerZtunnelConfig(program: Command): void {
  const zc = program
    .command('ztunnel-config')
    .alias('zc')
    .description(
      "show a node agent's workloads, services, policies, certificates and connections (its /config_dump)",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  ambit ztunnel-config workloads --node node-a\n  ambit zc services --admin 127.0.0.1:15000 -o yaml\n  ambit zc all -f dump.json',
    );
  for (const section of SECTIONS) {
    const cmd = zc
      .command(section.name)
      .aliases([...section.aliases])
      .description(section.description);
    addCommonOptions(cmd);
    for (const o of section.options) cmd.addOption(o);
    cmd.action(async (_opts: unknown, self: Command) => {
      const f = self.opts<SectionFlags>();
      const usage = (message: string): never =>
        self.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'ambit.usage' });
      const dump = await loadDump(f, usage);
      process.stdout.write(renderSection(section.name, dump, outputFormat(f.output), f));
      process.exitCode = EXIT_OK;
    });
  }
}
