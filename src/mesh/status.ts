/**
 * `ambit mesh status`: what runs and what each agent knows, asked live from
 * istiod's debug endpoints and the agents' admin and readiness ports.
 */
import type { MeshState } from './state.js';
import { isAlive } from './state.js';

export interface AgentStatus {
  readonly node: string;
  readonly pid: number;
  readonly running: boolean;
  /** The agent's log file: where to look when it is not running. */
  readonly log: string;
  readonly ready: string;
  readonly xds: string;
  readonly workloads: number;
  readonly certificates: readonly { identity: string; state: string; notAfter?: string }[];
  readonly connections: { inbound: number; outbound: number };
  readonly mtls: readonly string[];
}

export interface MeshStatus {
  readonly prefix: string;
  readonly istiod: { pid: number; running: boolean; ready: boolean; monitoring: string; agentsConnected: number; log: string };
  readonly nodes: readonly string[];
  readonly pods: readonly {
    name: string;
    namespace: string;
    node: string;
    ip: string;
    identity: string;
    enrolled: boolean;
    app: string;
    /** Whether the pod's app process runs; absent for a pod without one. */
    appRunning?: boolean;
    appLog?: string;
  }[];
  /** `what: log` for every recorded process that is not running: where to look first. */
  readonly notRunning: readonly { what: string; pid: number; log: string }[];
  readonly agents: readonly AgentStatus[];
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: (await res.text()).trim() };
}

interface DumpConnection {
  direction?: string;
  peerIdentity?: string;
  workload?: string;
  protocol?: string;
}

export async function meshStatus(state: MeshState): Promise<MeshStatus> {
  let istiodReady: boolean;
  let agentsConnected = 0;
  try {
    istiodReady = (await getText(`http://${state.istiod.monitoringAddress}/ready`)).status === 200;
    const syncz = (await getJson(`http://${state.istiod.monitoringAddress}/debug/syncz`)) as unknown[];
    agentsConnected = syncz.length;
  } catch {
    istiodReady = false;
  }
  const agents: AgentStatus[] = [];
  for (const a of state.agents) {
    const running = isAlive(a.pid);
    let ready = 'down';
    let xds = 'unknown';
    let workloads = 0;
    let certificates: AgentStatus['certificates'] = [];
    const connections = { inbound: 0, outbound: 0 };
    const mtls = new Set<string>();
    if (running) {
      try {
        const r = await getText(`http://${a.readinessAddress}/healthz/ready`);
        ready = r.status === 200 ? 'ready' : r.body;
        const dump = (await getJson(`http://${a.adminAddress}/config_dump`)) as {
          workloads?: unknown[];
          certificates?: { identity: string; state: string; notAfter?: string }[];
          connections?: DumpConnection[];
          xds?: { connected?: boolean };
        };
        workloads = dump.workloads?.length ?? 0;
        xds = dump.xds?.connected === true ? 'connected' : 'disconnected';
        certificates = (dump.certificates ?? []).map((c) => ({ identity: c.identity, state: c.state, ...(c.notAfter ? { notAfter: c.notAfter } : {}) }));
        for (const c of dump.connections ?? []) {
          if (c.direction === 'inbound') connections.inbound++;
          else connections.outbound++;
          if (c.protocol === 'HBONE' && c.peerIdentity) {
            mtls.add(c.direction === 'inbound' ? `${c.peerIdentity} -> ${c.workload}` : `${c.workload} -> ${c.peerIdentity}`);
          }
        }
      } catch (err) {
        ready = `no answer: ${(err as Error).message}`;
      }
    }
    agents.push({ node: a.node, pid: a.pid, running, log: a.log, ready, xds, workloads, certificates, connections, mtls: [...mtls].sort() });
  }
  const istiodRunning = isAlive(state.istiod.pid);
  const notRunning = [
    ...(istiodRunning ? [] : [{ what: 'istiod', pid: state.istiod.pid, log: state.istiod.log }]),
    ...agents.filter((a) => !a.running).map((a) => ({ what: `agent ${a.node}`, pid: a.pid, log: a.log })),
    ...state.pods.flatMap((p) =>
      p.appPid !== undefined && !isAlive(p.appPid) ? [{ what: `app ${p.name}`, pid: p.appPid, log: p.appLog ?? '(not recorded)' }] : [],
    ),
  ];
  return {
    prefix: state.prefix,
    istiod: { pid: state.istiod.pid, running: istiodRunning, ready: istiodReady, monitoring: state.istiod.monitoringAddress, agentsConnected, log: state.istiod.log },
    nodes: state.agents.map((a) => a.node),
    pods: state.pods.map((p) => ({
      name: p.name,
      namespace: p.namespace,
      node: p.node,
      ip: p.ips.join(','),
      identity: `spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`,
      enrolled: p.enrolled,
      app: p.app,
      ...(p.appPid === undefined ? {} : { appRunning: isAlive(p.appPid) }),
      ...(p.appLog === undefined ? {} : { appLog: p.appLog }),
    })),
    agents,
    notRunning,
  };
}
