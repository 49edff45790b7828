/**
 * `ambit mesh up|status|exec|apply|delete|down`: the local mesh on one
 * Linux machine (the project's main job). Everything it makes is recorded in
 * the state directory, so every subcommand works from another shell.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { meshDown, meshRunning, meshUp } from '../../mesh/index.js';
import { meshStatus } from '../../mesh/index.js';
import { DEFAULT_MESH_STATE_DIR, MeshError, readMeshState, type MeshState } from '../../mesh/index.js';
import { describeIdentity, parseIdentityArg, type ObjectIdentity } from '../../mesh/index.js';
import { meshApply, meshDelete, NO_EFFECT_YET_KINDS, WorkloadError, MESH_DEMOS, type MeshDemo, type ReconcileResult } from '../../mesh/index.js';
import { readApplyInput } from '../../mesh/index.js';
import { registerMeshWorkloads } from './mesh-workloads.js';
import { EXIT_FAILURE, EXIT_USAGE } from '../exit-codes.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** bin/ambit and the demo app, found from this file's place in dist/. */
const AMBIT_BIN = join(here, '..', '..', '..', 'bin', 'ambit');
const DEMO_APP = join(here, '..', '..', 'mesh', 'apps', 'demo-app.js');
const STANDIN_APP = join(here, '..', '..', 'mesh', 'apps', 'standin-app.js');
/** The sample manifests (Bookinfo, curl, ...) shipped in the repository. */
export const SAMPLES_DIR = join(here, '..', '..', '..', 'examples', 'samples');
export const STANDIN_ARGV: readonly string[] = [process.execPath, STANDIN_APP];

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (b: Buffer) => chunks.push(b));
    process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

function requireState(stateDir: string): MeshState {
  const state = readMeshState(stateDir);
  if (state === undefined) {
    process.stderr.write(`ambit mesh: no mesh recorded in ${stateDir}; run \`ambit mesh up --state-dir ${stateDir}\` first\n`);
    process.exit(EXIT_FAILURE);
  }
  return state;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

function printSummary(state: MeshState, stateDir: string): void {
  out();
  out(`mesh ${state.prefix} is running (state in ${stateDir})`);
  out(`  istiod   pid ${state.istiod.pid}  xds ${state.istiod.grpcAddress} (plaintext), ${state.istiod.secureGrpcAddress} (TLS + CA), monitoring http://${state.istiod.monitoringAddress}`);
  for (const a of state.agents) {
    out(`  ${a.node.padEnd(8)} agent pid ${a.pid}  admin http://${a.adminAddress}  metrics http://${a.statsAddress}/metrics  bpf instance ${a.instance}`);
  }
  if (state.pods.length > 0) {
    out();
    out(table([['POD', 'NAMESPACE', 'NODE', 'IP', 'IDENTITY'], ...state.pods.map((p) => [p.name, p.namespace, p.node, p.ips.join(','), `spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`])]));
  }
  const frontend = state.pods.find((p) => p.app === 'frontend');
  const curl = state.pods.find((p) => p.owner?.kind === 'Deployment' && p.owner.name === 'curl');
  out();
  out('try next:');
  const sd = stateDir === DEFAULT_MESH_STATE_DIR ? '' : ` --state-dir ${stateDir}`;
  if (curl !== undefined) {
    out(`  ambit mesh exec${sd} deploy/curl -- curl -s http://productpage:9080/productpage    # curl -> productpage over HBONE`);
    out(`  ambit mesh get pods${sd} -o wide`);
    out(`  ambit mesh apply${sd} -f examples/policies/productpage-ztunnel.yaml    # then retry the curl: denied`);
  }
  if (frontend !== undefined) {
    out(`  ambit mesh exec${sd} ${frontend.name} -- curl -s http://frontend        # frontend -> backend over HBONE`);
    out(`  ambit mesh exec${sd} ${frontend.name} -- curl -s http://backend`);
    out(`  ambit mesh apply${sd} -f examples/policies/deny-frontend.yaml    # then retry the curl`);
  }
  if (curl === undefined && frontend === undefined) out(`  ambit mesh apply${sd} -f examples/samples/bookinfo/bookinfo.yaml`);
  out(`  ambit mesh status${sd}`);
  out(`  ambit ztunnel-config workloads${sd}`);
  out(`  ambit mesh down${sd}`);
}

/** What a reconcile did to the pods, one line each, as kubectl's events would tell. */
function printReconcile(r: ReconcileResult): void {
  for (const p of r.removed) out(`pod ${p.namespace}/${p.name} removed`);
  for (const p of r.created) out(`pod ${p.namespace}/${p.name} created on ${p.node}${p.enrolled ? ' (enrolled)' : ''}`);
  for (const p of r.enrolled) out(`pod ${p.namespace}/${p.name} enrolled (istio.io/dataplane-mode=ambient)`);
  for (const p of r.released) out(`pod ${p.namespace}/${p.name} released from the mesh`);
  for (const [pod, why] of r.notReady) process.stderr.write(`ambit mesh: pod ${pod} is not ready: ${why.join('; ')}\n`);
}

export function registerMesh(program: Command): void {
  const mesh = program.command('mesh').description('the local mesh on this machine: netns cluster, istiod, node agents, demo');
  const stateDirOption = () => new Option('--state-dir <dir>', 'where the mesh records what it made').default(DEFAULT_MESH_STATE_DIR);

  mesh
    .command('up')
    .description('build the netns cluster, start istiod and one agent per node, deploy the demo')
    .option('--nodes <n>', 'number of nodes', '2')
    .addOption(new Option('--demo <demo>', 'what to deploy: Istio\'s Bookinfo with curl in `default` (ambient), the frontend/backend demo, or nothing').choices([...MESH_DEMOS]).default('bookinfo'))
    .option('--no-demo', 'deploy nothing (same as --demo none)')
    .option('--prefix <prefix>', 'name prefix for namespaces, cgroups and pins (default: random; refused while another mesh uses it)')
    .option('--cert-ttl <duration>', 'workload certificate lifetime, e.g. 60s (istiod --cert-ttl/--max-cert-ttl, agents --secret-ttl)')
    .addOption(stateDirOption())
    .action(async (flags: { nodes: string; demo: string | false; prefix?: string; certTtl?: string; stateDir: string }) => {
      const nodes = Number(flags.nodes);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8) {
        process.stderr.write(`ambit mesh up: --nodes "${flags.nodes}": must be an integer 1..8\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const started = Date.now();
      const { state, existed, restarted } = await meshUp({
        stateDir: flags.stateDir,
        nodes,
        demo: flags.demo === false ? 'none' : (flags.demo as MeshDemo),
        standinArgv: STANDIN_ARGV,
        samplesDir: SAMPLES_DIR,
        ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
        ...(flags.certTtl !== undefined ? { certTtl: flags.certTtl } : {}),
        ambitArgv: [process.execPath, AMBIT_BIN],
        demoAppArgv: [process.execPath, DEMO_APP],
        progress: (line) => out(`==> ${line}`),
      });
      if (existed && restarted.length > 0) out(`a mesh exists in ${flags.stateDir}; restarted ${restarted.join(', ')}`);
      else if (existed) out(`a mesh already runs in ${flags.stateDir}; nothing changed`);
      else out(`==> up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (existed && flags.certTtl !== undefined && flags.certTtl !== state.certTtl) {
        out(`note: the mesh runs with cert TTL ${state.certTtl ?? 'default'}; \`mesh down\` then \`mesh up --cert-ttl ${flags.certTtl}\` to change it`);
      }
      printSummary(state, flags.stateDir);
    });

  mesh
    .command('status')
    .description('nodes, pods, agents (readiness, xDS, certificates, connections) and mTLS pairs')
    .addOption(stateDirOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (flags: { stateDir: string; output: string }) => {
      const state = requireState(flags.stateDir);
      const status = await meshStatus(state);
      if (flags.output === 'json') {
        out(JSON.stringify(status, null, 2));
        return;
      }
      out(`mesh ${status.prefix}: istiod pid ${status.istiod.pid} ${status.istiod.running ? (status.istiod.ready ? 'ready' : 'not ready') : 'NOT RUNNING'}, ${status.istiod.agentsConnected} agent(s) connected`);
      out();
      out(table([['NODE', 'AGENT PID', 'READY', 'XDS', 'WORKLOADS', 'CERTIFICATES', 'CONNECTIONS (IN/OUT)'], ...status.agents.map((a) => [
        a.node, String(a.pid), a.running ? a.ready : 'NOT RUNNING', a.xds, String(a.workloads),
        a.certificates.map((c) => `${c.identity.replace(/^spiffe:\/\/[^/]+\//, '')}:${c.state}`).join(' ') || '-',
        `${a.connections.inbound}/${a.connections.outbound}`,
      ])]));
      if (status.pods.length > 0) {
        out();
        out(table([['POD', 'NAMESPACE', 'NODE', 'IP', 'IDENTITY', 'ENROLLED'], ...status.pods.map((p) => [p.name, p.namespace, p.node, p.ip, p.identity, p.enrolled ? 'yes' : 'no'])]));
      }
      const pairs = status.agents.flatMap((a) => a.mtls.map((m) => `  ${m}  (seen by ${a.node})`));
      out();
      out(pairs.length > 0 ? `mTLS (live HBONE connections):\n${pairs.join('\n')}` : 'mTLS: no live HBONE connection at this moment');
      if (status.notRunning.length > 0) {
        out();
        out(`NOT RUNNING (\`ambit mesh up${flags.stateDir === DEFAULT_MESH_STATE_DIR ? '' : ` --state-dir ${flags.stateDir}`}\` restarts them):`);
        for (const n of status.notRunning) out(`  ${n.what} (pid ${n.pid}): see ${n.log}`);
      }
      if (!meshRunning(state)) process.exitCode = EXIT_FAILURE;
    });

  mesh
    .command('apply')
    .description("validate config and write it into istiod's directory, one file per object (invalid config changes nothing)")
    .requiredOption('-f, --file <file...>', 'YAML/JSON files or directories; - reads standard input')
    .option('-n, --namespace <ns>', 'the namespace of objects that name none (as kubectl apply -n)')
    .addOption(stateDirOption())
    .action(async (flags: { file: string[]; namespace?: string; stateDir: string }) => {
      requireState(flags.stateDir);
      const input = await readApplyInput(flags.file, readStdin, flags.namespace);
      const refuse = (problems: readonly string[]): void => {
        process.stderr.write(`ambit mesh apply: refused, nothing changed:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
        process.exitCode = EXIT_FAILURE;
      };
      if (input.problems.length > 0) return refuse(input.problems);
      let result;
      try {
        result = await meshApply(flags.stateDir, input.documents, { standinArgv: STANDIN_ARGV });
      } catch (err) {
        if ((err instanceof MeshError && err.code === 'MESH_APPLY_CONFLICT') || err instanceof WorkloadError) return refuse([err.message]);
        throw err;
      }
      for (const o of result.outcomes) {
        const moved = o.previousSource === undefined ? '' : ` (was from ${o.previousSource})`;
        out(`${describeIdentity(o.entry)} ${o.action} from ${o.entry.source}${moved}`);
      }
      const idle = result.outcomes.filter((o) => NO_EFFECT_YET_KINDS.includes(o.entry.kind));
      if (idle.length > 0) {
        out(`note: stored, but no effect yet (waypoints and gateways come later): ${idle.map((o) => describeIdentity(o.entry)).join(', ')}`);
      }
      printReconcile(result);
      if (result.notReady.size > 0) process.exitCode = EXIT_FAILURE;
    });

  mesh
    .command('delete')
    .description('remove objects applied with `ambit mesh apply`: those a file (or - for stdin) defines, or kind/namespace/name')
    .argument('[objects...]', 'kind/namespace/name (kind/name when cluster-scoped), e.g. authorizationpolicy/demo/deny-frontend')
    .option('-f, --file <file...>', 'the files (or -) whose objects to delete')
    .option('-n, --namespace <ns>', 'the namespace of objects in the files that name none')
    .addOption(stateDirOption())
    .action(async (objects: string[], flags: { file?: string[]; namespace?: string; stateDir: string }) => {
      requireState(flags.stateDir);
      const fail = (lines: readonly string[], code = EXIT_FAILURE): void => {
        process.stderr.write(lines.map((l) => `ambit mesh delete: ${l}\n`).join(''));
        process.exitCode = code;
      };
      if (objects.length === 0 && (flags.file ?? []).length === 0) return fail(['name objects (kind/namespace/name) or give -f <file>'], EXIT_USAGE);
      const identities: ObjectIdentity[] = [];
      try {
        identities.push(...objects.map(parseIdentityArg));
      } catch (err) {
        return fail([(err as Error).message], EXIT_USAGE);
      }
      if (flags.file !== undefined) {
        const input = await readApplyInput(flags.file, readStdin, flags.namespace);
        if (input.problems.length > 0) return fail(['refused, nothing changed:', ...input.problems]);
        identities.push(...input.documents);
      }
      const r = await meshDelete(flags.stateDir, identities, { standinArgv: STANDIN_ARGV });
      for (const e of r.deleted) out(`${describeIdentity(e)} deleted (applied from ${e.source})`);
      printReconcile(r);
      // As kubectl: what was found is deleted, and the rest is an error.
      if (r.notFound.length > 0) fail(r.notFound.map((id) => `${describeIdentity(id)}: not found (never applied to this mesh)`));
    });

  registerMeshWorkloads(mesh, stateDirOption);

  mesh
    .command('down')
    .description('stop every process the mesh started and remove its namespaces, cgroups, pins and files')
    .addOption(stateDirOption())
    .action(async (flags: { stateDir: string }) => {
      const r = await meshDown(flags.stateDir);
      out(r.found ? `mesh in ${flags.stateDir} removed (${r.stopped} process(es) stopped)` : `no mesh recorded in ${flags.stateDir}; nothing to do`);
    });

}
