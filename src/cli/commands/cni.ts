/**
 * `ambit cni`: the CNI plugin (spec 1.0), chained after the pod's network
 * plugin. The container runtime runs it with CNI_* variables in the
 * environment and the network configuration as JSON on stdin.
 *
 * - ADD: sends AddPod to the node agent and passes `prevResult` through on
 *   stdout. An unreachable agent fails the ADD (fail closed): the pod must
 *   not start uncaptured.
 * - DEL: sends DelPod; succeeds when the agent is gone (nothing to undo).
 * - CHECK: asks the agent whether it holds the pod.
 * - VERSION: prints the supported spec versions.
 *
 * Plugin configuration (beside `cniVersion`, `name`, `type`, `prevResult`):
 * `agentSocket` (default /var/run/ambit/ztunnel.sock), `cgroupRoot` (where
 * to look for the pod's cgroup by UID, default /sys/fs/cgroup/unified),
 * `timeoutMs`. CNI_ARGS may carry `AMBIT_CGROUP_PATH` to name the cgroup
 * directly. Errors are the spec's JSON object on stdout and exit status 1.
 */
import { readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Command } from 'commander';
import { EnrollError, EnrollRejectedError, withEnrollmentClient, DEFAULT_SOCKET_PATH, type PodInfo } from '../../ztunnel/index.js';
import { AmbitError, errorMessage } from '../../shared/errors.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';

export const CNI_SPEC_VERSION = '1.0.0';
export const SUPPORTED_CNI_VERSIONS: readonly string[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];
export const DEFAULT_CNI_CGROUP_ROOT = '/sys/fs/cgroup/unified';
export const DEFAULT_CNI_TIMEOUT_MS = 5_000;
/** How deep and how wide the cgroup search by pod UID goes before giving up. */
const CGROUP_SEARCH_DEPTH = 6;
const CGROUP_SEARCH_MAX_DIRS = 20_000;

/** Error codes from the CNI spec, plus this plugin's own (100+). */
export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  agentRejected: 100,
  cgroupNotFound: 101,
} as const;

/** A failure reported to the runtime as the spec's error object; `cniCode` is the spec's code. */
export class CniFailure extends AmbitError {
  constructor(
    readonly cniCode: number,
    message: string,
    readonly details = '',
  ) {
    super('CNI_FAILED', message);
  }
}

export interface CniConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly agentSocket: string;
  readonly cgroupRoot: string;
  readonly timeoutMs: number;
  readonly prevResult?: Record<string, unknown>;
}

export interface CniInvocation {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: string;
}

export interface CniOutcome {
  readonly exitCode: number;
  /** What goes to stdout: a result, a version object, an error object, or nothing. */
  readonly stdout: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseCniConfig(stdin: string): CniConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniFailure(CniCode.decodeFailure, 'network configuration on stdin is not JSON', errorMessage(err));
  }
  if (!isRecord(raw)) throw new CniFailure(CniCode.decodeFailure, 'network configuration on stdin is not a JSON object');
  const str = (key: string, fallback?: string): string => {
    const v = raw[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v === '') throw new CniFailure(CniCode.invalidConfig, `network configuration: ${key} must be a non-empty string`);
    return v;
  };
  const cniVersion = str('cniVersion');
  if (!SUPPORTED_CNI_VERSIONS.includes(cniVersion)) {
    throw new CniFailure(CniCode.incompatibleVersion, `cniVersion ${cniVersion} is not supported`, `supported: ${SUPPORTED_CNI_VERSIONS.join(', ')}`);
  }
  const agentSocket = str('agentSocket', DEFAULT_SOCKET_PATH);
  const cgroupRoot = str('cgroupRoot', DEFAULT_CNI_CGROUP_ROOT);
  for (const [k, v] of [['agentSocket', agentSocket], ['cgroupRoot', cgroupRoot]] as const) {
    if (!isAbsolute(v)) throw new CniFailure(CniCode.invalidConfig, `network configuration: ${k} "${v}" must be an absolute path`);
  }
  const timeoutMs = raw.timeoutMs ?? DEFAULT_CNI_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new CniFailure(CniCode.invalidConfig, `network configuration: timeoutMs ${JSON.stringify(timeoutMs)} must be a positive integer`);
  }
  if (raw.prevResult !== undefined && !isRecord(raw.prevResult)) {
    throw new CniFailure(CniCode.invalidConfig, 'network configuration: prevResult must be an object');
  }
  return {
    cniVersion,
    name: str('name', 'ambit'),
    agentSocket,
    cgroupRoot,
    timeoutMs,
    ...(raw.prevResult === undefined ? {} : { prevResult: raw.prevResult }),
  };
}

/** CNI_ARGS: `K1=V1;K2=V2`. */
export function parseCniArgs(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (text ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniFailure(CniCode.invalidEnvironment, `CNI_ARGS: "${pair}" is not KEY=VALUE`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** Addresses of prevResult.ips[].address (`10.1.0.5/24` → `10.1.0.5`). */
export function prevResultIps(prev: Record<string, unknown> | undefined): string[] {
  if (prev === undefined || !Array.isArray(prev.ips)) return [];
  return prev.ips.flatMap((ip: unknown) => (isRecord(ip) && typeof ip.address === 'string' ? [ip.address.split('/')[0] ?? ''] : [])).filter((a) => a !== '');
}

/**
 * Finds the pod's cgroup under root by its UID, as kubelet names it with
 * either driver: cgroupfs `pod<uid>`, systemd `…-pod<uid with _>.slice`.
 * Breadth-first and bounded.
 */
export function findPodCgroup(root: string, uid: string): string | undefined {
  const needles = [uid, uid.replaceAll('-', '_')];
  let level = [root];
  let visited = 0;
  for (let depth = 0; depth < CGROUP_SEARCH_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (++visited > CGROUP_SEARCH_MAX_DIRS) return undefined;
        const path = join(dir, e.name);
        if (needles.some((n) => e.name.includes(n))) return path;
        next.push(path);
      }
    }
    level = next;
  }
  return undefined;
}

function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (v === undefined || v === '') throw new CniFailure(CniCode.invalidEnvironment, `${name} is not set`);
  return v;
}

function podFromEnv(env: NodeJS.ProcessEnv, config: CniConfig): PodInfo {
  const containerId = requireEnv(env, 'CNI_CONTAINERID');
  requireEnv(env, 'CNI_IFNAME');
  const netnsPath = requireEnv(env, 'CNI_NETNS');
  const args = parseCniArgs(env.CNI_ARGS);
  const uid = args.get('K8S_POD_UID') ?? containerId;
  const cgroupPath = args.get('AMBIT_CGROUP_PATH') ?? findPodCgroup(config.cgroupRoot, uid);
  if (cgroupPath === undefined) {
    throw new CniFailure(
      CniCode.cgroupNotFound,
      `no cgroup for pod ${uid} under ${config.cgroupRoot}`,
      'set cgroupRoot in the plugin configuration or AMBIT_CGROUP_PATH in CNI_ARGS',
    );
  }
  return {
    uid,
    name: args.get('K8S_POD_NAME') ?? containerId,
    namespace: args.get('K8S_POD_NAMESPACE') ?? 'default',
    netnsPath,
    cgroupPath,
    ips: prevResultIps(config.prevResult),
  };
}

function agentFailure(err: unknown, socket: string): CniFailure {
  if (err instanceof EnrollRejectedError && err.remoteCode === 'ENROLL_TOO_MANY_CONNECTIONS') {
    return new CniFailure(CniCode.tryAgainLater, `node agent at ${socket} is busy: ${err.message}`, err.remoteCode);
  }
  if (err instanceof EnrollRejectedError) return new CniFailure(CniCode.agentRejected, `node agent refused the pod: ${err.message}`, err.remoteCode);
  if (err instanceof EnrollError && (err.code === 'ENROLL_UNREACHABLE' || err.code === 'ENROLL_TIMEOUT' || err.code === 'ENROLL_CONNECTION_CLOSED')) {
    return new CniFailure(CniCode.tryAgainLater, `node agent at ${socket} is not reachable; is ambit ztunnel running on this node?`, err.message);
  }
  return new CniFailure(CniCode.ioFailure, `enrollment through ${socket} failed`, errorMessage(err));
}

/** No agent on the socket (as opposed to an agent that is slow or says no). */
function agentGone(err: unknown): boolean {
  return err instanceof EnrollError && (err.code === 'ENROLL_UNREACHABLE' || err.code === 'ENROLL_CONNECTION_CLOSED');
}

function clientOptions(config: CniConfig) {
  return { socketPath: config.agentSocket, connectTimeoutMs: config.timeoutMs, requestTimeoutMs: config.timeoutMs };
}

/** Runs one plugin invocation; never throws. */
export async function runCni(inv: CniInvocation): Promise<CniOutcome> {
  let cniVersion = CNI_SPEC_VERSION;
  try {
    const command = requireEnv(inv.env, 'CNI_COMMAND');
    if (command === 'VERSION') {
      return { exitCode: EXIT_OK, stdout: `${JSON.stringify({ cniVersion: CNI_SPEC_VERSION, supportedVersions: SUPPORTED_CNI_VERSIONS })}\n` };
    }
    const config = parseCniConfig(inv.stdin);
    cniVersion = config.cniVersion;
    switch (command) {
      case 'ADD': {
        const pod = podFromEnv(inv.env, config);
        try {
          await withEnrollmentClient(clientOptions(config), (c) => c.addPod(pod));
        } catch (err) {
          throw agentFailure(err, config.agentSocket);
        }
        const result = { ...(config.prevResult ?? { interfaces: [], ips: [], dns: {} }), cniVersion };
        return { exitCode: EXIT_OK, stdout: `${JSON.stringify(result)}\n` };
      }
      case 'DEL': {
        const containerId = requireEnv(inv.env, 'CNI_CONTAINERID');
        requireEnv(inv.env, 'CNI_IFNAME');
        const uid = parseCniArgs(inv.env.CNI_ARGS).get('K8S_POD_UID') ?? containerId;
        try {
          await withEnrollmentClient(clientOptions(config), (c) => c.delPod(uid));
        } catch (err) {
          // An agent that is gone holds nothing to undo; its successor reconciles from a snapshot.
          if (!agentGone(err)) throw agentFailure(err, config.agentSocket);
        }
        return { exitCode: EXIT_OK, stdout: '' };
      }
      case 'CHECK': {
        if (cniVersion === '0.3.0' || cniVersion === '0.3.1') {
          throw new CniFailure(CniCode.incompatibleVersion, `CHECK is not defined for cniVersion ${cniVersion}`);
        }
        const containerId = requireEnv(inv.env, 'CNI_CONTAINERID');
        requireEnv(inv.env, 'CNI_IFNAME');
        requireEnv(inv.env, 'CNI_NETNS');
        const uid = parseCniArgs(inv.env.CNI_ARGS).get('K8S_POD_UID') ?? containerId;
        try {
          await withEnrollmentClient(clientOptions(config), (c) => c.checkPod(uid));
        } catch (err) {
          throw agentFailure(err, config.agentSocket);
        }
        return { exitCode: EXIT_OK, stdout: '' };
      }
      default:
        throw new CniFailure(CniCode.invalidEnvironment, `CNI_COMMAND ${command} is not one of ADD, DEL, CHECK, VERSION`);
    }
  } catch (err) {
    const f = err instanceof CniFailure ? err : new CniFailure(CniCode.ioFailure, errorMessage(err));
    return {
      exitCode: EXIT_FAILURE,
      stdout: `${JSON.stringify({ cniVersion, code: f.cniCode, msg: f.message, details: f.details })}\n`,
    };
  }
}

function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (b: Buffer) => chunks.push(b));
    process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

export function registerCni(program: Command): void {
  program
    .command('cni')
    .description('the CNI plugin (spec 1.0): enrolls pods with the node agent; driven by CNI_* variables and stdin')
    .action(async () => {
      const outcome = await runCni({ env: process.env, stdin: await readStdin() });
      process.stdout.write(outcome.stdout);
      process.exitCode = outcome.exitCode;
    });
}
