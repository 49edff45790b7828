/**
 * The local mesh on one machine: a netns cluster, istiod on a YAML
 * directory, one node agent per node, and (optionally) the demo — frontend
 * and backend services in the ambient `demo` namespace with traffic
 * flowing. `meshUp` is idempotent; `meshDown` removes everything it made,
 * from the state file, also after a crash.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createCluster, destroyClusterFromState, type ClusterPod, type NetnsCluster, listNetns, readState } from './cluster/index.js';
import { podExecArgv } from './exec.js';
import { withEnrollmentClient } from '../ztunnel/index.js';
import { destroyInstance } from '../ztunnel/index.js';
import { namespaceManifest, podManifest, serviceManifest, DEMO_NAMESPACE } from './manifests.js';
import { parse } from 'yaml';
import { APPLIED_INDEX_FILE, applyDocuments, MESH_UP_SOURCE, workloadsDirOf } from './applied.js';
import { readApplyInput, validatedDocument } from './apply-input.js';
import { meshApply, reconcileWorkloads } from './workloads/controller.js';
import { waitForPods } from './workloads/queries.js';
import { ETC_NETNS, startContainer } from './workloads/pod-runtime.js';
import { freePort, startDetached, stopPid, waitForHttpOk } from './processes.js';
import {
  MeshError,
  isAlive,
  readMeshState,
  stateFile,
  writeMeshState,
  type AgentRecord,
  type MeshState,
  type PodRecord,
  type ProcessRecord,
} from './state.js';

/** The demo's services: name -> VIP. VIPs are never routed: capture rewrites them in the pod. */
export const DEMO_SERVICES = { frontend: '10.96.0.10', backend: '10.96.0.20' } as const;
export const DEMO_APP_PORT = 8080;
export const DEMO_SERVICE_PORT = 80;
const ISTIOD_NAME = 'istiod.istio-system.svc';

export interface MeshUpOptions {
  readonly stateDir: string;
  readonly nodes: number;
  /** What to deploy once the mesh runs: Istio's Bookinfo with curl, the frontend/backend demo, or nothing. */
  readonly demo: MeshDemo;
  /** How to run the sample images' stand-ins: [node, dist/mesh/apps/standin-app.js]. */
  readonly standinArgv?: readonly string[];
  /** The directory holding the sample manifests (`bookinfo/bookinfo.yaml`, `curl/curl.yaml`); needed for `bookinfo`. */
  readonly samplesDir?: string;
  readonly prefix?: string;
  /** How to run `ambit` (e.g. [node, bin/ambit]). */
  readonly ambitArgv: readonly string[];
  /** How to run the demo app (e.g. [node, dist/mesh/apps/demo-app.js]). */
  readonly demoAppArgv: readonly string[];
  /** Progress lines for a person watching. */
  readonly progress?: (line: string) => void;
  /** Background traffic from the frontend, every N ms (0 = none). */
  readonly trafficMs?: number;
  /**
   * Workload certificate lifetime (`90s`, `30m`, `24h`): istiod gets it as
   * `--cert-ttl` and `--max-cert-ttl`, every agent as `--secret-ttl`, so
   * rotation can be watched by hand. Absent: istiod's and the agents' defaults.
   */
  readonly certTtl?: string;
}

export const MESH_DEMOS = ['bookinfo', 'frontend-backend', 'none'] as const;
export type MeshDemo = (typeof MESH_DEMOS)[number];
/** The namespace the Bookinfo demo runs in, as Istio's getting-started puts it. */
export const BOOKINFO_NAMESPACE = 'default';

export interface MeshUpResult {
  readonly state: MeshState;
  /** The cluster, when this call built it (tests add pods to it). */
  readonly cluster?: NetnsCluster;
  /** True when a mesh was found in the state directory (and repaired if it had to be). */
  readonly existed: boolean;
  /** What an existing mesh had dead and this call restarted: `istiod`, `agent node0`, `app <pod>`. */
  readonly restarted: readonly string[];
}

/** What this run made, so a failure removes exactly that and nothing another mesh owns. */
interface Made {
  readonly pids: number[];
  readonly instances: string[];
  readonly etcNetnsDirs: string[];
}

const DURATION_RE = /^[1-9]\d*(s|m|h|d)?$/;

function shortHash(): string {
  return randomBytes(3).toString('hex').slice(0, 5);
}

/** Whether the processes a state records are still running. */
export function meshRunning(state: MeshState): boolean {
  return isAlive(state.istiod.pid) && state.agents.every((a) => isAlive(a.pid));
}

export async function meshUp(options: MeshUpOptions): Promise<MeshUpResult> {
  const stateDir = resolve(options.stateDir);
  const say = options.progress ?? (() => undefined);
  if (options.certTtl !== undefined && !DURATION_RE.test(options.certTtl)) {
    throw new MeshError('MESH_BAD_OPTION', `--cert-ttl "${options.certTtl}": not a duration (e.g. 60s, 30m, 24h)`);
  }
  const existing = readMeshState(stateDir);
  if (existing !== undefined) {
    const { state, restarted } = await repairMesh(stateDir, existing, say);
    if (options.standinArgv === undefined || !state.pods.some((p) => p.owner !== undefined)) return { state, existed: true, restarted };
    // What an apply interrupted by a dead agent or a crash left undone: pods to make, enrollments to fix.
    const r = await reconcileWorkloads(stateDir, { standinArgv: options.standinArgv, progress: say });
    const more = [...r.created.map((p) => `pod ${p.namespace}/${p.name}`), ...r.enrolled.map((p) => `enrollment of ${p.namespace}/${p.name}`), ...r.released.map((p) => `release of ${p.namespace}/${p.name}`)];
    return { state: readMeshState(stateDir) ?? state, existed: true, restarted: [...restarted, ...more] };
  }
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 8) {
    throw new MeshError('MESH_BAD_OPTION', `--nodes ${options.nodes}: must be 1..8`);
  }
  mkdirSync(stateDir, { recursive: true });
  const configDir = join(stateDir, 'config');
  const caDir = join(stateDir, 'ca');
  mkdirSync(configDir, { recursive: true });
  mkdirSync(caDir, { recursive: true });

  say(`building the netns cluster (${options.nodes} node${options.nodes > 1 ? 's' : ''})`);
  // Refuses a prefix another cluster holds (CLUSTER_PREFIX_IN_USE) before making anything.
  const cluster = await createCluster({
    nodes: options.nodes,
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    stateDir,
    teardownOnExit: false,
  });
  const made: Made = { pids: [], instances: [], etcNetnsDirs: [] };
  try {
    const prefix = cluster.prefix;
    const nodeNames = cluster.nodes.map((n) => n.name);
    const ttl = options.certTtl;

    // As applied objects, so `mesh label namespace` and `mesh apply` of a Namespace change them in place.
    const namespaces = [namespaceManifest('default', false), namespaceManifest('istio-system', false), ...(options.demo === 'frontend-backend' ? [namespaceManifest(DEMO_NAMESPACE, true)] : [])];
    applyDocuments(
      stateDir,
      { configDir, workloadsDir: workloadsDirOf(stateDir) },
      namespaces.map((text, i) => validatedDocument(parse(text), `ambit mesh up[${i}]`, MESH_UP_SOURCE)),
    );
    const tokens = nodeNames.map((node) => ({ node, token: randomBytes(24).toString('hex') }));
    const tokensFile = join(stateDir, 'tokens.yaml');
    writeFileSync(tokensFile, `tokens:\n${tokens.map((t) => `  - token: ${t.token}\n    node: ${t.node}\n`).join('')}`, { mode: 0o600 });

    say('starting istiod');
    const [grpc, secure, monitoring] = [await freePort(), await freePort(), await freePort()];
    const istiodLog = join(stateDir, 'istiod.log');
    const istiodArgv = [
      ...options.ambitArgv,
      'istiod',
      '--config-dir', configDir,
      '--ca-dir', caDir,
      '--tokens', tokensFile,
      '--grpc-addr', `127.0.0.1:${grpc}`,
      '--secure-grpc-addr', `127.0.0.1:${secure}`,
      '--monitoring-addr', `127.0.0.1:${monitoring}`,
      '--push-debounce-ms', '50',
      ...(ttl === undefined ? [] : ['--cert-ttl', ttl, '--max-cert-ttl', ttl]),
    ];
    const istiodPid = startDetached(istiodArgv, istiodLog);
    made.pids.push(istiodPid);
    await waitForHttpOk(`http://127.0.0.1:${monitoring}/ready`, istiodPid, 'istiod', istiodLog, 60_000);

    const agents: AgentRecord[] = [];
    for (const node of nodeNames) {
      say(`starting the node agent on ${node}`);
      const dir = join(stateDir, node);
      mkdirSync(dir, { recursive: true });
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, tokens.find((t) => t.node === node)!.token, { mode: 0o600 });
      const [admin, stats, ready] = [await freePort(), await freePort(), await freePort()];
      const log = join(dir, 'ztunnel.log');
      const instance = `${prefix}-${node}`;
      const enrollSocket = join(dir, 'ztunnel.sock');
      const argv = [
        ...options.ambitArgv,
        'ztunnel',
        '--node-name', node,
        '--pod-name', `ztunnel-${node}`,
        '--xds-address', `127.0.0.1:${secure}`,
        '--istiod-name', ISTIOD_NAME,
        '--root-cert', join(caDir, 'root-cert.pem'),
        '--token-file', tokenFile,
        '--instance', instance,
        '--enroll-socket', enrollSocket,
        '--records-file', join(dir, 'enrolled-pods.json'),
        // Only this cluster's pods can be enrolled: nothing else on the machine gets captured.
        '--pod-cgroup-root', cluster.cgroupDir,
        '--admin-addr', `127.0.0.1:${admin}`,
        '--stats-addr', `127.0.0.1:${stats}`,
        '--readiness-addr', `127.0.0.1:${ready}`,
        ...(ttl === undefined ? [] : ['--secret-ttl', ttl]),
      ];
      made.instances.push(instance);
      const pid = startDetached(argv, log);
      made.pids.push(pid);
      agents.push({
        node,
        pid,
        log,
        argv,
        instance,
        enrollSocket,
        adminAddress: `127.0.0.1:${admin}`,
        statsAddress: `127.0.0.1:${stats}`,
        readinessAddress: `127.0.0.1:${ready}`,
      });
    }
    for (const a of agents) await waitForHttpOk(`http://${a.readinessAddress}/healthz/ready`, a.pid, `the agent on ${a.node}`, a.log, 60_000);

    let state: MeshState = {
      version: 1,
      prefix,
      createdAt: new Date().toISOString(),
      clusterStateFile: cluster.stateFile,
      configDir,
      caDir,
      istiod: {
        pid: istiodPid,
        log: istiodLog,
        argv: istiodArgv,
        grpcAddress: `127.0.0.1:${grpc}`,
        secureGrpcAddress: `127.0.0.1:${secure}`,
        monitoringAddress: `127.0.0.1:${monitoring}`,
      },
      agents,
      pods: [],
      services: {},
      etcNetnsDirs: [],
      ...(ttl === undefined ? {} : { certTtl: ttl }),
    };
    writeMeshState(stateDir, state);
    if (options.demo === 'frontend-backend') state = await deployDemo(cluster, state, stateDir, options, say, made);
    if (options.demo === 'bookinfo') state = await deployBookinfo(stateDir, options, say);
    return { state, existed: false, cluster, restarted: [] };
  } catch (err) {
    // Only what this run made: the prefix was claimed by this run's cluster,
    // so its namespaces, cgroups and pins are ours and nobody else's.
    for (const dir of made.etcNetnsDirs) rmSync(dir, { recursive: true, force: true });
    for (const pid of made.pids.reverse()) await stopPid(pid);
    for (const instance of made.instances) await destroyInstance(instance).catch(() => undefined);
    await cluster.destroy();
    rmSync(stateFile(stateDir), { force: true });
    throw err;
  }
}

/**
 * `mesh up` on a mesh that exists: restarts whatever died (istiod first,
 * then agents, then demo apps) with the command line it was started with,
 * and waits for each to be ready. Running processes are left alone, so a
 * second call changes nothing. A mesh whose cluster is gone (a reboot)
 * cannot be repaired: it has to be taken down.
 */
async function repairMesh(stateDir: string, state: MeshState, say: (line: string) => void): Promise<{ state: MeshState; restarted: string[] }> {
  const stale = (why: string): MeshError =>
    new MeshError('MESH_STALE', `${stateFile(stateDir)}: ${why}; run \`ambit mesh down --state-dir ${stateDir}\` first`);
  if (!existsSync(state.clusterStateFile)) throw stale(`its cluster state ${state.clusterStateFile} is gone`);
  const cluster = readState(state.clusterStateFile);
  if (!listNetns().includes(cluster.underlay.netns)) throw stale(`its underlay namespace ${cluster.underlay.netns} is gone`);
  const restarted: string[] = [];
  const restart = (what: string, p: ProcessRecord): number => {
    if (p.argv === undefined) throw stale(`${what} (pid ${p.pid}) is not running and its command line was not recorded`);
    say(`restarting ${what} (log ${p.log})`);
    restarted.push(what);
    return startDetached(p.argv, p.log);
  };
  let current = state;
  if (!isAlive(state.istiod.pid)) {
    const pid = restart('istiod', state.istiod);
    current = { ...current, istiod: { ...current.istiod, pid } };
    writeMeshState(stateDir, current);
    await waitForHttpOk(`http://${current.istiod.monitoringAddress}/ready`, pid, 'istiod', current.istiod.log, 60_000);
  }
  const agents: AgentRecord[] = [];
  for (const a of current.agents) {
    agents.push(isAlive(a.pid) ? a : { ...a, pid: restart(`agent ${a.node}`, a) });
  }
  current = { ...current, agents };
  if (restarted.length > 0) writeMeshState(stateDir, current);
  for (const a of agents) await waitForHttpOk(`http://${a.readinessAddress}/healthz/ready`, a.pid, `the agent on ${a.node}`, a.log, 60_000);
  const pods: PodRecord[] = [];
  for (const p of current.pods) {
    if (p.containers !== undefined) {
      // Restart policy Always: a container whose process died runs again with its command line.
      const containers = p.containers.map((c) => {
        if (isAlive(c.pid)) return c;
        say(`restarting container ${c.name} of ${p.namespace}/${p.name} (log ${c.log})`);
        restarted.push(`container ${p.namespace}/${p.name}/${c.name}`);
        return startContainer(p, c);
      });
      pods.push({ ...p, containers });
      continue;
    }
    if (p.appPid === undefined || isAlive(p.appPid) || p.appArgv === undefined || p.appLog === undefined) {
      pods.push(p);
      continue;
    }
    say(`restarting the app of ${p.name} (log ${p.appLog})`);
    restarted.push(`app ${p.name}`);
    pods.push({ ...p, appPid: startDetached(podExecArgv(p, p.appArgv), p.appLog) });
  }
  current = { ...current, pods };
  if (restarted.length > 0) writeMeshState(stateDir, current);
  return { state: current, restarted };
}

async function deployDemo(
  cluster: NetnsCluster,
  base: MeshState,
  stateDir: string,
  options: MeshUpOptions,
  say: (line: string) => void,
  made: Made,
): Promise<MeshState> {
  const nodes = cluster.nodes.map((n) => n.name);
  const frontendNode = nodes[0]!;
  const backendNode = nodes[1] ?? nodes[0]!;
  const placements: { app: 'frontend' | 'backend'; node: string }[] = [
    { app: 'frontend', node: frontendNode },
    { app: 'backend', node: backendNode },
    { app: 'backend', node: backendNode },
  ];
  say('creating the demo pods: frontend on ' + frontendNode + ', two backends on ' + backendNode);
  // Named like a Deployment's pods (<app>-<replicaset hash>-<pod hash>), so
  // istiod names their workload after the app, as Istio's dashboards expect.
  const templateHash = new Map<string, string>();
  const pods: { pod: ClusterPod; app: string; hash: string }[] = [];
  for (const p of placements) {
    const hash = templateHash.get(p.app) ?? randomBytes(5).toString('hex').slice(0, 9);
    templateHash.set(p.app, hash);
    const name = `${p.app}-${hash}-${shortHash()}`;
    pods.push({ pod: await cluster.addPod(p.node, name), app: p.app, hash });
  }
  writeFileSync(
    join(base.configDir, '10-demo-services.yaml'),
    Object.entries(DEMO_SERVICES)
      .map(([name, vip]) => serviceManifest({ name, namespace: DEMO_NAMESPACE, clusterIP: vip, port: DEMO_SERVICE_PORT, targetPort: DEMO_APP_PORT }))
      .join('---\n'),
  );
  writeFileSync(
    join(base.configDir, '20-demo-pods.yaml'),
    pods
      .map(({ pod, app, hash }) =>
        podManifest({
          podTemplateHash: hash,
          name: pod.name,
          namespace: DEMO_NAMESPACE,
          uid: pod.uid,
          node: pod.node,
          ips: pod.ips,
          app,
          serviceAccount: app,
          containerPort: DEMO_APP_PORT,
        }),
      )
      .join('---\n'),
  );

  // Name resolution for the pods: `ip netns exec` bind-mounts /etc/netns/<ns>/hosts.
  const etcNetnsDirs: string[] = [];
  const hosts = ['127.0.0.1 localhost', '::1 localhost']
    .concat(Object.entries(DEMO_SERVICES).map(([name, vip]) => `${vip} ${name} ${name}.${DEMO_NAMESPACE} ${name}.${DEMO_NAMESPACE}.svc.cluster.local`))
    .join('\n');
  for (const { pod } of pods) {
    const dir = join(ETC_NETNS, pod.netns);
    if (existsSync(dir)) throw new MeshError('MESH_START_FAILED', `${dir} exists: another mesh or a crashed one left it`);
    mkdirSync(dir, { recursive: true });
    made.etcNetnsDirs.push(dir);
    writeFileSync(join(dir, 'hosts'), `${hosts}\n`);
    etcNetnsDirs.push(dir);
  }

  say('enrolling the pods with their node agents');
  const records: PodRecord[] = [];
  for (const { pod, app } of pods) {
    const agent = base.agents.find((a) => a.node === pod.node)!;
    await withEnrollmentClient({ socketPath: agent.enrollSocket }, (c) =>
      c.addPod({
        uid: pod.uid,
        name: pod.name,
        namespace: DEMO_NAMESPACE,
        serviceAccount: app,
        netnsPath: pod.netnsPath,
        cgroupPath: pod.cgroup,
        ips: pod.ips,
      }),
    );
    const log = join(stateDir, pod.node, `${pod.name}.log`);
    const argv = [
      ...options.demoAppArgv,
      '--role', app,
      '--name', pod.name,
      '--port', String(DEMO_APP_PORT),
      ...(app === 'frontend'
        ? ['--upstream', `http://${DEMO_SERVICES.backend}:${DEMO_SERVICE_PORT}/`, '--traffic-ms', String(options.trafficMs ?? 2000)]
        : []),
    ];
    // The app's output goes to its log beside the agent's (the file stays open in the child only).
    const logFd = openSync(log, 'a');
    let proc;
    try {
      proc = cluster.spawnInPod(pod.name, argv, { detached: true, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    records.push({
      name: pod.name,
      namespace: DEMO_NAMESPACE,
      node: pod.node,
      uid: pod.uid,
      ips: pod.ips,
      netns: pod.netns,
      netnsPath: pod.netnsPath,
      cgroup: pod.cgroup,
      app,
      serviceAccount: app,
      enrolled: true,
      appPid: proc.pid,
      appArgv: argv,
      appLog: log,
    });
  }
  const state: MeshState = { ...base, pods: records, services: { ...DEMO_SERVICES }, etcNetnsDirs };
  writeMeshState(stateDir, state);
  say('waiting for the demo traffic to flow');
  await waitForDemo(cluster, records);
  return state;
}

/**
 * Istio's getting-started on this mesh: Bookinfo and curl in `default`,
 * the namespace labelled for ambient, and every pod ready and known to
 * every agent.
 */
async function deployBookinfo(stateDir: string, options: MeshUpOptions, say: (line: string) => void): Promise<MeshState> {
  const { samplesDir, standinArgv } = options;
  if (samplesDir === undefined || standinArgv === undefined) throw new MeshError('MESH_BAD_OPTION', 'the Bookinfo demo needs the samples directory and the stand-in command');
  say(`deploying Bookinfo and curl in namespace ${BOOKINFO_NAMESPACE} (ambient)`);
  const input = await readApplyInput([join(samplesDir, 'bookinfo', 'bookinfo.yaml'), join(samplesDir, 'curl', 'curl.yaml')], () => Promise.resolve(''));
  if (input.problems.length > 0) throw new MeshError('MESH_DEMO_FAILED', `the Bookinfo manifests are invalid: ${input.problems.join('; ')}`);
  const docs = [validatedDocument(parse(namespaceManifest(BOOKINFO_NAMESPACE, true)), 'ambit mesh up', MESH_UP_SOURCE), ...input.documents];
  const r = await meshApply(stateDir, docs, { standinArgv });
  if (r.notReady.size > 0) throw new MeshError('MESH_DEMO_FAILED', `Bookinfo pods not ready: ${[...r.notReady].map(([k, v]) => `${k}: ${v.join(', ')}`).join('; ')}`);
  say('waiting until every agent knows every pod');
  const w = await waitForPods(stateDir, (s) => s.pods.filter((p) => p.owner !== undefined), 30_000);
  if (!w.ready) throw new MeshError('MESH_DEMO_FAILED', `Bookinfo is not ready after 30 s: ${w.missing.join('; ')}`);
  return readMeshState(stateDir)!;
}

/** Bounded wait until the frontend answers through the mesh. */
async function waitForDemo(cluster: NetnsCluster, pods: readonly PodRecord[]): Promise<void> {
  const frontend = pods.find((p) => p.app === 'frontend');
  if (frontend === undefined) return;
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await cluster.execInPod(frontend.name, [process.execPath, '-e', HTTP_GET_SCRIPT, `http://${DEMO_SERVICES.frontend}:${DEMO_SERVICE_PORT}/`], { timeoutMs: 8000 });
    if (r.code === 0 && r.stdout.includes('hello from backend')) return;
    last = (r.stdout + r.stderr).trim();
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new MeshError('MESH_DEMO_FAILED', `the demo traffic did not flow within 30 s: ${last}`);
}

/** A tiny HTTP GET in node (curl may be absent): prints the status and body, exit 0 on 2xx. */
export const HTTP_GET_SCRIPT = `
const http = require('node:http');
const req = http.get(process.argv[1], { timeout: 5000 }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => { process.stdout.write(res.statusCode + ' ' + body); process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1); });
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });
`;

export interface MeshDownResult {
  readonly found: boolean;
  readonly stopped: number;
}

/** Stops every process and removes every namespace, cgroup, pin and file the mesh made. */
export async function meshDown(stateDirInput: string): Promise<MeshDownResult> {
  const stateDir = resolve(stateDirInput);
  const state = readMeshState(stateDir);
  if (state === undefined) return { found: false, stopped: 0 };
  let stopped = 0;
  for (const a of state.agents) {
    if (isAlive(a.pid)) stopped++;
    await stopPid(a.pid);
  }
  if (isAlive(state.istiod.pid)) stopped++;
  await stopPid(state.istiod.pid);
  for (const p of state.pods) if (p.appPid !== undefined && isAlive(p.appPid)) stopped++;
  // The cluster teardown kills whatever still runs in its cgroups (the demo apps).
  if (existsSync(state.clusterStateFile)) await destroyClusterFromState(state.clusterStateFile);
  for (const a of state.agents) await destroyInstance(a.instance).catch(() => undefined);
  for (const dir of state.etcNetnsDirs) rmSync(dir, { recursive: true, force: true });
  // Also what a crash between writing them and recording them left.
  removeEtcNetns(state.prefix);
  for (const a of state.agents) rmSync(a.enrollSocket, { force: true });
  // What was applied goes with the mesh: a new mesh starts empty, with no Pod of this one left for its istiod.
  for (const made of [state.configDir, workloadsDirOf(stateDir), join(stateDir, 'pods'), join(stateDir, APPLIED_INDEX_FILE)]) {
    rmSync(made, { recursive: true, force: true });
  }
  rmSync(stateFile(stateDir), { force: true });
  return { found: true, stopped };
}

/** Removes the pods' /etc/netns/<prefix>-… directories (name resolution for `ip netns exec`). */
function removeEtcNetns(prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(ETC_NETNS);
  } catch {
    return;
  }
  for (const name of entries) if (name.startsWith(`${prefix}-`)) rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
}
