/**
 * kubectl's habits on the local mesh: `ambit mesh get|exec|logs|wait|label`
 * over the pods, Deployments, Services and gateways `mesh apply` made.
 * `-n NS` picks a namespace (default `default`), `-A` all of them; JSON and
 * YAML output have the stable keys the README lists.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import {
  deploymentViews,
  gatewayViews,
  labelNamespace,
  meshApply,
  meshObjects,
  parseLabelChange,
  podExecArgv,
  podView,
  readMeshState,
  selectPods,
  serviceViews,
  validatedDocument,
  waitForPods,
  MeshError,
  type MeshState,
  type PodRecord,
} from '../../mesh/index.js';
import { EXIT_FAILURE, EXIT_USAGE } from '../exit-codes.js';
import { formatLines } from '../render/table.js';
import { STANDIN_ARGV } from './mesh.js';

const DEFAULT_NAMESPACE = 'default';
/** kubectl's column gap (`tabwriter` padding 3). */
const KUBECTL_PADDING = 3;
/** The source `mesh create namespace` records, as `mesh apply` records a file. */
const CREATE_SOURCE = '(ambit mesh create)';
const RESOURCES = ['pods', 'deployments', 'services', 'gateways'] as const;
const RESOURCE_ALIASES: Readonly<Record<string, (typeof RESOURCES)[number]>> = {
  po: 'pods', pod: 'pods', pods: 'pods',
  deploy: 'deployments', deployment: 'deployments', deployments: 'deployments',
  svc: 'services', service: 'services', services: 'services',
  gtw: 'gateways', gateway: 'gateways', gateways: 'gateways',
};

interface ScopeFlags {
  readonly namespace?: string;
  readonly allNamespaces?: boolean;
  readonly stateDir: string;
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function fail(command: string, message: string, code = EXIT_FAILURE): void {
  process.stderr.write(`ambit mesh ${command}: ${message}\n`);
  process.exitCode = code;
}

function stateOrFail(command: string, stateDir: string): MeshState | undefined {
  const state = readMeshState(stateDir);
  if (state === undefined) fail(command, `no mesh recorded in ${stateDir}; run \`ambit mesh up --state-dir ${stateDir}\` first`);
  return state;
}

function inScope(f: ScopeFlags): (o: { readonly namespace: string }) => boolean {
  return (o) => f.allNamespaces === true || o.namespace === (f.namespace ?? DEFAULT_NAMESPACE);
}

function age(since: string): string {
  const ms = Date.now() - Date.parse(since);
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

function labelsText(l: Readonly<Record<string, string>>): string {
  return Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
}

/** Rows with the NAMESPACE column first under -A, as kubectl prints them. */
function render(f: ScopeFlags & { output?: string }, items: readonly object[], header: string[], row: (item: never) => string[]): string {
  if (f.output === 'json') return JSON.stringify({ items }, null, 2);
  if (f.output === 'yaml') return stringify({ items });
  if (items.length === 0) return f.allNamespaces === true ? 'No resources found' : `No resources found in ${f.namespace ?? DEFAULT_NAMESPACE} namespace.`;
  const rows = items.map((i) => row(i as never));
  const withNs = f.allNamespaces === true ? [['NAMESPACE', ...header], ...rows.map((r, i) => [(items[i] as { namespace: string }).namespace, ...r])] : [header, ...rows];
  return formatLines(withNs, { padding: KUBECTL_PADDING });
}

function scopeOptions(cmd: Command, stateDirOption: () => Option): Command {
  return cmd
    .option('-n, --namespace <ns>', 'the namespace', DEFAULT_NAMESPACE)
    .addOption(stateDirOption());
}

/** The one pod a POD / pod/NAME / deploy/NAME argument means (kubectl takes a Deployment's first pod). */
function onePod(command: string, state: MeshState, namespace: string, target: string, namespaceGiven: boolean): PodRecord | undefined {
  let pods = selectPods(state, namespace, target);
  // The frontend/backend demo's pods live in `demo`: a bare name still finds them.
  if (pods.length === 0 && !namespaceGiven && !target.includes('/')) {
    const anywhere = state.pods.filter((p) => p.name === target || p.name.startsWith(target));
    if (anywhere.length === 1) pods = anywhere;
  }
  const pod = [...pods].sort((a, b) => a.name.localeCompare(b.name))[0];
  if (pod === undefined) {
    const names = state.pods.filter((p) => p.namespace === namespace).map((p) => p.name);
    fail(command, `${target}: not found in namespace ${namespace}; pods there: ${names.join(', ') || 'none'}`, EXIT_USAGE);
  }
  return pod;
}

function parseTimeoutMs(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

export function registerMeshWorkloads(mesh: Command, stateDirOption: () => Option): void {
  scopeOptions(
    mesh
      .command('get')
      .description('list pods, deployments, services or gateways, as `kubectl get` does')
      .argument('<resource>', `one of ${RESOURCES.join(', ')} (or po, deploy, svc, gtw)`)
      .option('-A, --all-namespaces', 'every namespace')
      .addOption(new Option('-o, --output <format>', 'wide adds columns; json and yaml print {"items": [...]}').choices(['wide', 'json', 'yaml'])),
    stateDirOption,
  ).action(async (resourceArg: string, f: ScopeFlags & { output?: string }) => {
    const resource = RESOURCE_ALIASES[resourceArg.toLowerCase()];
    if (resource === undefined) return fail('get', `unknown resource "${resourceArg}"; one of ${RESOURCES.join(', ')}`, EXIT_USAGE);
    const state = stateOrFail('get', f.stateDir);
    if (state === undefined) return;
    const wide = f.output === 'wide';
    const keep = inScope(f);
    if (resource === 'pods') {
      const pods = state.pods.filter(keep).map(podView).sort((a, b) => a.name.localeCompare(b.name));
      return out(render(f, pods, ['NAME', 'READY', 'STATUS', 'AGE', ...(wide ? ['IP', 'NODE', 'ENROLLED', 'IDENTITY'] : [])], (p: ReturnType<typeof podView>) => [
        p.name, p.ready, p.status, age(p.createdAt), ...(wide ? [p.ip, p.node, p.enrolled ? 'yes' : 'no', p.identity] : []),
      ]));
    }
    const objects = await meshObjects(f.stateDir, state);
    if (resource === 'deployments') {
      const items = deploymentViews(objects, state).filter(keep);
      return out(render(f, items, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', ...(wide ? ['IMAGES', 'SELECTOR'] : [])], (d: (typeof items)[number]) => [
        d.name, `${d.ready}/${d.replicas}`, String(d.upToDate), String(d.ready), ...(wide ? [d.images.join(','), labelsText(d.selector)] : []),
      ]));
    }
    if (resource === 'services') {
      const items = serviceViews(objects).filter(keep);
      return out(render(f, items, ['NAME', 'TYPE', 'CLUSTER-IP', 'PORT(S)', ...(wide ? ['SELECTOR'] : [])], (s: (typeof items)[number]) => [
        s.name, s.type, s.clusterIp || '<none>', s.ports.join(','), ...(wide ? [labelsText(s.selector)] : []),
      ]));
    }
    const items = gatewayViews(objects).filter(keep);
    return out(render(f, items, ['NAME', 'CLASS', 'ADDRESS', 'PROGRAMMED', ...(wide ? ['API'] : [])], (g: (typeof items)[number]) => [
      g.name, g.class || '-', g.address || '<pending>', g.programmed ? 'True' : 'False', ...(wide ? [g.api] : []),
    ]));
  });

  scopeOptions(
    mesh
      .command('exec')
      .description('run a command inside a pod (its netns and cgroup): `ambit mesh exec deploy/curl -- curl -s http://productpage:9080/productpage`')
      .argument('<target>', 'POD (a unique prefix is enough), pod/NAME or deploy/NAME')
      .argument('<command...>', 'the command and its arguments (after --)'),
    stateDirOption,
  ).action(async (target: string, command: string[], f: ScopeFlags, self: Command) => {
    const state = stateOrFail('exec', f.stateDir);
    if (state === undefined) return;
    const namespaceGiven = self.getOptionValueSource('namespace') === 'cli';
    const pod = onePod('exec', state, f.namespace ?? DEFAULT_NAMESPACE, target, namespaceGiven);
    if (pod === undefined) return;
    const [cmd, ...args] = podExecArgv(pod, command);
    const child = spawn(cmd!, args, { stdio: 'inherit' });
    process.exitCode = await new Promise<number>((resolve) => {
      child.once('error', () => resolve(EXIT_FAILURE));
      child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    });
  });

  scopeOptions(
    mesh
      .command('logs')
      .description("print a pod's container log (its first container unless -c names one)")
      .argument('<target>', 'POD, pod/NAME or deploy/NAME')
      .option('-c, --container <name>', 'the container'),
    stateDirOption,
  ).action((target: string, f: ScopeFlags & { container?: string }, self: Command) => {
    const state = stateOrFail('logs', f.stateDir);
    if (state === undefined) return;
    const pod = onePod('logs', state, f.namespace ?? DEFAULT_NAMESPACE, target, self.getOptionValueSource('namespace') === 'cli');
    if (pod === undefined) return;
    const logs = pod.containers?.map((c) => ({ name: c.name, log: c.log })) ?? (pod.appLog !== undefined ? [{ name: pod.app, log: pod.appLog }] : []);
    const chosen = f.container === undefined ? logs[0] : logs.find((c) => c.name === f.container);
    if (chosen === undefined) return fail('logs', `pod ${pod.namespace}/${pod.name} has no container ${JSON.stringify(f.container ?? '')}; containers: ${logs.map((c) => c.name).join(', ')}`, EXIT_USAGE);
    try {
      process.stdout.write(readFileSync(chosen.log));
    } catch (err) {
      fail('logs', `${chosen.log}: ${(err as Error).message}`);
    }
  });

  scopeOptions(
    mesh
      .command('wait')
      .description('wait until pods run, are enrolled as their labels say, and are workloads in every agent; exit 1 with what is missing on timeout')
      .argument('[target]', 'deploy/NAME (or POD); with --all every Deployment and pod of the namespace')
      .option('--all', 'every Deployment and pod in the namespace (with -A: in the mesh)')
      .option('-A, --all-namespaces', 'with --all: every namespace')
      .option('--timeout <duration>', 'how long to wait (60s, 2m, 500ms)', '60s'),
    stateDirOption,
  ).action(async (target: string | undefined, f: ScopeFlags & { all?: boolean; timeout: string }) => {
    if ((target === undefined) === (f.all !== true)) return fail('wait', 'name deploy/NAME or give --all (not both)', EXIT_USAGE);
    const timeoutMs = parseTimeoutMs(f.timeout);
    if (timeoutMs === undefined) return fail('wait', `--timeout "${f.timeout}": not a duration (60s, 2m, 500ms)`, EXIT_USAGE);
    const namespace = f.namespace ?? DEFAULT_NAMESPACE;
    if (stateOrFail('wait', f.stateDir) === undefined) return;
    const select = (state: MeshState): PodRecord[] =>
      f.all === true ? state.pods.filter((p) => p.owner !== undefined && inScope(f)(p)) : selectPods(state, namespace, target!);
    // Besides the pods: every Deployment has all its replicas, and a named target exists.
    const alsoMissing = async (state: MeshState, pods: readonly PodRecord[]): Promise<string[]> => {
      const objects = await meshObjects(f.stateDir, state);
      const deployments = deploymentViews(objects, state).filter((d) => (f.all === true ? inScope(f)(d) : d.namespace === namespace && `deploy/${d.name}` === target!.replace(/^deployments?\//, 'deploy/')));
      const missing: string[] = [];
      if (f.all !== true && pods.length === 0 && deployments.length === 0) missing.push(`${target}: not found in namespace ${namespace}`);
      for (const d of deployments) {
        const have = state.pods.filter((p) => p.namespace === d.namespace && p.owner?.kind === 'Deployment' && p.owner.name === d.name).length;
        if (have !== d.replicas) missing.push(`deployment ${d.namespace}/${d.name}: ${have} of ${d.replicas} pods exist`);
      }
      return missing;
    };
    const w = await waitForPods(f.stateDir, select, timeoutMs, alsoMissing);
    if (w.ready) return out(`${w.pods.length} pod(s) ready: ${w.pods.join(', ') || 'none'}`);
    fail('wait', `timed out after ${f.timeout}:\n${w.missing.map((m) => `  ${m}`).join('\n')}`);
  });

  mesh
    .command('create')
    .description('create a namespace, as `kubectl create namespace NAME` (add labels with `mesh label`)')
    .argument('<kind>', 'namespace (ns)')
    .argument('<name>', 'the namespace')
    .addOption(stateDirOption())
    .action(async (kind: string, name: string, f: { stateDir: string }) => {
      if (!['namespace', 'ns'].includes(kind)) return fail('create', `"${kind}": only namespaces can be created here; apply other objects with \`mesh apply -f\``, EXIT_USAGE);
      const state = stateOrFail('create', f.stateDir);
      if (state === undefined) return;
      try {
        // Checked first: applying over an existing namespace would drop its labels.
        const existing = await meshObjects(f.stateDir, state);
        if (existing.some((o) => o.object.kind === 'Namespace' && o.object.metadata.name === name)) return fail('create', `namespace "${name}" already exists`);
        const doc = validatedDocument({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, `namespace/${name}`, CREATE_SOURCE);
        await meshApply(f.stateDir, [doc], { standinArgv: STANDIN_ARGV });
        out(`namespace/${name} created`);
      } catch (err) {
        if (err instanceof MeshError) return fail('create', err.message, err.code === 'MESH_BAD_OPTION' ? EXIT_USAGE : EXIT_FAILURE);
        throw err;
      }
    });

  mesh
    .command('label')
    .description('set (key=value) or remove (key-) labels of a namespace; `istio.io/dataplane-mode=ambient` enrolls its running pods, removing it releases them')
    .argument('<kind>', 'namespace (ns)')
    .argument('<name>', 'the namespace')
    .argument('<labels...>', 'key=value or key-')
    .option('--overwrite', 'replace a label that has another value')
    .addOption(stateDirOption())
    .action(async (kind: string, name: string, labels: string[], f: { overwrite?: boolean; stateDir: string }) => {
      if (!['namespace', 'namespaces', 'ns'].includes(kind)) return fail('label', `"${kind}": only namespaces can be labelled here`, EXIT_USAGE);
      try {
        const r = await labelNamespace(f.stateDir, name, labels.map(parseLabelChange), f.overwrite === true, { standinArgv: STANDIN_ARGV });
        out(`namespace/${name} labeled`);
        for (const p of r.enrolled) out(`pod ${p.namespace}/${p.name} enrolled`);
        for (const p of r.released) out(`pod ${p.namespace}/${p.name} released from the mesh`);
      } catch (err) {
        if (err instanceof MeshError) return fail('label', err.message, err.code === 'MESH_BAD_OPTION' ? EXIT_USAGE : EXIT_FAILURE);
        throw err;
      }
    });
}
