/**
 * Fault injection against the real processes of a two-node netns mesh while
 * traffic flows: SIGKILL and SIGSTOP/SIGCONT of istiod and of each node
 * agent, a silent partition of node1 (an nftables drop inside its namespace)
 * and its underlay link set down, an agent restarted over existing policy
 * state, and a soak of allowed and denied connections. The process guard
 * fails any test during which a process the test did not stop exits.
 *
 * Figures (outage-free seconds, RST latency, fds/RSS) are printed as
 * `chaos:` lines. Bounds come from ztunnel's behaviour: a dead peer is
 * noticed by HTTP/2 PING (first after 10 s, 20 s without an answer), so a
 * silent failure must reset the app's connections within 40 s; a peer whose
 * sockets the kernel closed, within 5 s.
 */
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_SERVICES } from '../../src/mesh/local-mesh.js';
import { readState } from '../../src/mesh/cluster/index.js';
import { ChaosMesh, ECHO_PORT } from '../support/chaos-mesh.js';
import { eventually } from '../support/mesh.js';
import { tcpFromPod } from '../support/netns.js';
import { footprint, formatFootprint, type ProcessFootprint } from '../support/proc-stats.js';
import { ConnectionLoop, HeldConnections, isReset, outageFreeMs, type Attempt, type HeldEnd } from '../support/traffic.js';
import { runSoak } from '../support/soak.js';

/** How long istiod stays down (killed or stopped) while traffic flows. */
const ISTIOD_DOWN_MS = 10_000;
/** A peer whose process died (its sockets closed by the kernel): the app's connections end within this. */
const DEAD_PEER_RESET_MS = 5_000;
/** A peer that went silent (stopped, partitioned): PING after 10 s, 20 s without PONG, plus slack. */
const SILENT_PEER_RESET_MS = 40_000;
/** How long a source agent stays stopped: below the PING timeout, so its sessions may live on. */
const SHORT_STOP_MS = 8_000;
/** Traffic must flow again this soon after a fault is healed or a process restarted. */
const RECOVERY_MS = 30_000;
/** Consecutive good connections that count as "traffic flows". */
const FLOWING = 10;
/** Traffic is watched this long after a resume: past one PING interval, when stale keepalive timers fire. */
const AFTER_RESUME_WATCH_MS = 12_000;
const HELD = 3;
const SOAK_EACH = 3_000;
const SOAK_CONCURRENCY = 16;

const DENY_FRONTEND = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: chaos-deny-frontend, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/demo/sa/frontend"]}}]}]
`;

const DENY_ECHO_PORT = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: chaos-deny-echo-port, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  action: DENY
  rules: [{to: [{operation: {ports: ["${ECHO_PORT}"]}}]}]
`;

interface AgentDebug {
  connections: unknown[];
  connected: boolean;
}

async function agentDebug(adminAddress: string): Promise<AgentDebug> {
  const dump = (await (await fetch(`http://${adminAddress}/config_dump`, { signal: AbortSignal.timeout(3000) })).json()) as {
    connections?: unknown[];
    xds?: { connected?: boolean };
  };
  return { connections: dump.connections ?? [], connected: dump.xds?.connected === true };
}

/**
 * Keeps a fault in force for `ms`. The duration is the experiment's
 * parameter, not a wait for a condition: traffic may be frozen meanwhile, so
 * it cannot be counted on as the clock.
 */
function faultFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** The attempts that failed or took over a second around a recovery, e.g. "t-1200 ms: 10012 ms timeout". */
function describeSlow(attempts: readonly Attempt[], sinceMs: number): string {
  const slow = attempts.filter((a) => !a.ok || a.ms > 1000);
  if (slow.length === 0) return 'none';
  // The last ones (closest to the recovery) say the most.
  const shown = slow.slice(-6).map((a) => `t${a.t - sinceMs >= 0 ? '+' : ''}${a.t - sinceMs} ms: ${a.ms} ms ${a.ok ? 'ok' : (a.err ?? 'failed')}`);
  return `${slow.length}${slow.length > shown.length ? `, the last ${shown.length}` : ''}: ${shown.join(', ')}`;
}

function describeEnds(ends: readonly HeldEnd[], sinceMs: number): string {
  return ends.map((e) => `#${e.id} ${e.how}${e.err !== undefined ? ` ${e.err}` : ''} after ${e.t - sinceMs} ms`).join(', ');
}

describe('chaos: faults in the data plane while traffic flows (real processes, netns cluster)', function () {
  this.timeout(180_000);
  const mesh = new ChaosMesh({ prefix: 'a9c-dp' });
  const loops: ConnectionLoop[] = [];
  const holders: HeldConnections[] = [];
  const policyFiles = new Set<string>();

  const frontend = () => mesh.pod('frontend');
  const backend0 = () => mesh.pod('backend', 0);
  const startLoop = (): ConnectionLoop => {
    const loop = ConnectionLoop.start(mesh.cluster, frontend().name, DEMO_SERVICES.backend, 80, { everyMs: 100, timeoutMs: 12_000, hostHeader: 'backend' });
    loops.push(loop);
    return loop;
  };
  const hold = async (count = HELD): Promise<HeldConnections> => {
    const h = await HeldConnections.open(mesh.cluster, frontend().name, backend0().ips[0]!, ECHO_PORT, count);
    holders.push(h);
    return h;
  };
  const applyPolicy = (name: string, yaml: string): string => {
    const file = join(mesh.processes.state().configDir, name);
    writeFileSync(file, yaml);
    policyFiles.add(file);
    return file;
  };
  const removePolicy = (file: string): void => {
    unlinkSync(file);
    policyFiles.delete(file);
  };
  /** A plaintext probe that must not reach the app: no byte of the echo server's answer comes back. */
  const probeMustNotReachApp = async (fromPod: string, what: string): Promise<string> => {
    const r = await tcpFromPod(mesh.cluster, fromPod, backend0().ips[0]!, ECHO_PORT, 'chaos-probe', 3000);
    assert.equal(r.kind, 'error', `${what}: the probe reached the app: ${JSON.stringify(r)}`);
    return r.kind === 'error' ? r.reason : '';
  };
  const bothConnected = async (): Promise<boolean> => {
    for (const a of mesh.processes.state().agents) if (!(await agentDebug(a.adminAddress).catch(() => undefined))?.connected) return false;
    return true;
  };

  before(async function () {
    this.timeout(240_000);
    await mesh.up();
  });

  afterEach(async function () {
    this.timeout(120_000);
    await Promise.all([...loops.splice(0), ...holders.splice(0)].map((p) => p.stop()));
    await mesh.faults.undoAll();
    for (const f of [...policyFiles]) removePolicy(f);
    // A test that failed midway may leave a process dead: bring it back so the next test starts from a whole mesh.
    const restarted = await mesh.processes.restartDead();
    if (restarted.length > 0) console.log(`chaos: restarted after the test: ${restarted.join(', ')}`);
    await eventually(bothConnected, 'both agents are connected to istiod again', 30_000);
  });

  after(async function () {
    this.timeout(120_000);
    await Promise.all([...loops, ...holders].map((p) => p.stop()));
    await mesh.teardown();
  });

  it('istiod SIGKILLed: traffic keeps flowing while it is down, agents reconnect when it is back', async () => {
    const loop = startLoop();
    await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
    const t0 = Date.now();
    await mesh.processes.killIstiod();
    await faultFor(ISTIOD_DOWN_MS);
    const t1 = Date.now();
    const during = loop.between(t0, t1);
    const failed = during.filter((a) => !a.ok);
    console.log(
      `chaos: istiod SIGKILL: down ${seconds(t1 - t0)} s, ${during.length} connections, ${failed.length} failed, outage-free ${seconds(outageFreeMs(loop.attempts, t0, t1))} s`,
    );
    await mesh.processes.restartIstiod();
    const t2 = Date.now();
    await eventually(bothConnected, 'both agents reconnect to the new istiod', 30_000);
    console.log(`chaos: istiod SIGKILL: agents reconnected ${seconds(Date.now() - t2)} s after the restart`);
    await loop.waitForRecovery(t2, FLOWING, RECOVERY_MS, 'traffic flows after the restart');
    assert.deepEqual(failed, [], 'no connection failed while istiod was down');
  });

  it('istiod SIGSTOPped then SIGCONTed: traffic keeps flowing, the agents stay or get connected', async () => {
    const loop = startLoop();
    await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
    const t0 = Date.now();
    const resume = await mesh.faults.pause(mesh.processes.istiodPid, 'istiod');
    await faultFor(ISTIOD_DOWN_MS);
    const t1 = Date.now();
    await resume();
    const during = loop.between(t0, t1);
    const failed = during.filter((a) => !a.ok);
    console.log(
      `chaos: istiod SIGSTOP: stopped ${seconds(t1 - t0)} s, ${during.length} connections, ${failed.length} failed, outage-free ${seconds(outageFreeMs(loop.attempts, t0, t1))} s`,
    );
    await eventually(bothConnected, 'both agents are connected after SIGCONT', 30_000);
    await loop.waitForRecovery(t1, FLOWING, RECOVERY_MS, 'traffic flows after SIGCONT');
    assert.deepEqual(failed, [], 'no connection failed while istiod was stopped');
  });

  /** Restarts a killed agent and waits for traffic, naming the attempts that were slow or failed around the recovery. */
  async function restartAndRecover(node: string, loop: ConnectionLoop): Promise<void> {
    await mesh.processes.restartAgent(node);
    const t1 = Date.now();
    const back = await loop.waitForRecovery(t1, FLOWING, RECOVERY_MS, 'traffic flows after the agent restarted');
    console.log(`chaos: ${node} agent SIGKILL: traffic back ${back.t - t1} ms after the restarted agent was ready; slow or failed attempts: ${describeSlow(loop.between(t1 - 15_000, back.t), t1)}`);
  }

  it('destination agent (node1) SIGKILLed: the app gets an RST at once, new connections fail fast, capture stays closed, restart recovers', async () => {
    const loop = startLoop();
    await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
    const held = await hold();
    const t0 = Date.now();
    await mesh.processes.killAgent('node1');
    const ends = await held.waitAllEnded(DEAD_PEER_RESET_MS, 'the held connections end after the destination agent died');
    const latency = Math.max(...ends.map((e) => e.t - t0));
    console.log(`chaos: node1 agent SIGKILL: held connections ended in ${latency} ms (${describeEnds(ends, t0)})`);
    // Plaintext from an unenrolled pod: capture keeps the pod closed while its agent is gone.
    const reason = await probeMustNotReachApp(mesh.outsider.name, 'plaintext to a pod whose agent is dead');
    // New connections from the frontend fail, and fast: the dead pooled session is not reused.
    const failedAfter = await loop.waitFor(t0 + 1000, (a) => !a.ok, 15_000, 'a connection attempt after the kill');
    console.log(`chaos: node1 agent SIGKILL: plaintext probe refused (${reason}); a new mesh connection failed after ${failedAfter.ms} ms (${failedAfter.err ?? ''})`);
    assert.ok(ends.every(isReset), `every held connection was reset (RST), not closed or left open: ${describeEnds(ends, t0)}`);
    assert.ok(failedAfter.ms < 5_000, `a new connection to the dead node fails in ${failedAfter.ms} ms, not after a CONNECT timeout`);
    await restartAndRecover('node1', loop);
  });

  it('destination agent (node1) SIGSTOPped: the source resets the app within the PING bound, the source agent survives, SIGCONT recovers', async () => {
    const loop = startLoop();
    await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
    const held = await hold();
    const t0 = Date.now();
    const resume = await mesh.faults.pause(mesh.processes.agent('node1').pid, 'the agent on node1');
    const reason = await probeMustNotReachApp(mesh.outsider.name, 'plaintext to a pod whose agent is stopped');
    const ends = await held.waitAllEnded(SILENT_PEER_RESET_MS, 'the held connections end while the destination agent is stopped');
    const latency = Math.max(...ends.map((e) => e.t - t0));
    console.log(`chaos: node1 agent SIGSTOP: held connections ended in ${latency} ms (${describeEnds(ends, t0)}); plaintext probe: ${reason}`);
    await resume();
    const t1 = Date.now();
    const back = await loop.waitForRecovery(t1, FLOWING, RECOVERY_MS, 'traffic flows after SIGCONT');
    console.log(`chaos: node1 agent SIGSTOP: traffic back ${back.t - t1} ms after SIGCONT`);
    // The resumed agent finds its sessions dead (their keepalive timers fire on destroyed sessions): it must live through that.
    await faultFor(AFTER_RESUME_WATCH_MS);
    const late = loop.between(back.t, Date.now()).filter((a) => !a.ok);
    assert.ok(ends.every(isReset), `every held connection was reset (RST): ${describeEnds(ends, t0)}`);
    assert.deepEqual(late, [], 'no connection failed once traffic was back');
  });

  it('source agent (node0) SIGKILLed: the app connections end at once, capture stays closed, the destination agent survives', async () => {
    const loop = startLoop();
    await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
    const held = await hold();
    const t0 = Date.now();
    await mesh.processes.killAgent('node0');
    const ends = await held.waitAllEnded(DEAD_PEER_RESET_MS, 'the held connections end after the source agent died');
    console.log(`chaos: node0 agent SIGKILL: held connections ended in ${Math.max(...ends.map((e) => e.t - t0))} ms (${describeEnds(ends, t0)})`);
    // The frontend's plaintext connect is still redirected to the (absent) in-pod listener: refused, never sent in clear.
    const reason = await probeMustNotReachApp(frontend().name, 'plaintext from a captured pod whose agent is dead');
    console.log(`chaos: node0 agent SIGKILL: captured plaintext probe refused (${reason})`);
    await restartAndRecover('node0', loop);
  });

  it('source agent (node0) SIGSTOPped briefly: capture stays closed, after SIGCONT each held connection echoes or is reset (none hangs)', async () => {
    const loop = startLoop();
    await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
    const held = await hold();
    const t0 = Date.now();
    const resume = await mesh.faults.pause(mesh.processes.agent('node0').pid, 'the agent on node0');
    const reason = await probeMustNotReachApp(frontend().name, 'plaintext from a captured pod whose agent is stopped');
    await faultFor(SHORT_STOP_MS - (Date.now() - t0));
    await resume();
    const t1 = Date.now();
    await eventually(
      async () => [...Array(HELD).keys()].every((id) => held.ends.has(id) || (held.lastEcho.get(id) ?? 0) > t1),
      'every held connection echoes again or has ended',
      SILENT_PEER_RESET_MS,
      100,
    );
    const outcome = [...Array(HELD).keys()].map((id) => (held.ends.has(id) ? describeEnds([held.ends.get(id)!], t1) : `#${id} echoes`));
    console.log(`chaos: node0 agent SIGSTOP ${seconds(t1 - t0)} s: plaintext probe ${reason}; after SIGCONT: ${outcome.join(', ')}`);
    const back = await loop.waitForRecovery(t1, FLOWING, RECOVERY_MS, 'traffic flows after SIGCONT');
    console.log(`chaos: node0 agent SIGSTOP: traffic back ${back.t - t1} ms after SIGCONT`);
    for (const e of held.ends.values()) assert.ok(isReset(e), `a held connection that ended was reset: ${describeEnds([e], t1)}`);
  });

  for (const fault of ['nft-drop', 'link-down'] as const) {
    it(`node1 partitioned (${fault === 'nft-drop' ? 'silent nftables drop on its underlay link' : 'underlay link set down'}): the app gets an RST within the PING bound, no agent exits, healing recovers`, async () => {
      const loop = startLoop();
      await loop.waitForRecovery(Date.now(), FLOWING, RECOVERY_MS, 'traffic flows before the fault');
      const held = await hold();
      const node1 = mesh.cluster.node('node1');
      const t0 = Date.now();
      let heal: () => Promise<void>;
      if (fault === 'nft-drop') {
        heal = await mesh.faults.dropLink(node1.netns, 'eth0');
      } else {
        const link = readState(mesh.cluster.stateFile).nodes.find((n) => n.name === 'node1')!.underlayLink;
        heal = await mesh.faults.linkDown(mesh.cluster.underlayNetns, link);
      }
      const ends = await held.waitAllEnded(SILENT_PEER_RESET_MS, `the held connections end during the partition (${fault})`);
      const latency = Math.max(...ends.map((e) => e.t - t0));
      console.log(`chaos: partition ${fault}: held connections ended in ${latency} ms (${describeEnds(ends, t0)})`);
      await heal();
      const t1 = Date.now();
      const back = await loop.waitForRecovery(t1, FLOWING, RECOVERY_MS, `traffic flows after the partition (${fault}) healed`);
      const during = loop.between(t0, t1);
      console.log(
        `chaos: partition ${fault}: ${seconds(t1 - t0)} s, ${during.filter((a) => !a.ok).length}/${during.length} connections failed during it, traffic back ${back.t - t1} ms after healing`,
      );
      assert.ok(ends.every(isReset), `every held connection was reset (RST): ${describeEnds(ends, t0)}`);
    });
  }

  for (const node of ['node1', 'node0'] as const) {
    it(`an agent restarted over existing state (${node}) re-adopts its pods and enforces the DENY from the first connection after ready`, async () => {
      const file = applyPolicy('chaos-deny-frontend.yaml', DENY_FRONTEND);
      const target = backend0().ips[0]!;
      await eventually(async () => (await tcpFromPod(mesh.cluster, frontend().name, target, ECHO_PORT, 'x', 3000)).kind === 'error', 'the DENY takes effect');
      await mesh.processes.stopAgent(node);
      await mesh.processes.restartAgent(node);
      // Right after readiness: the frontend (captured, mTLS with its identity) is denied...
      const denied = await tcpFromPod(mesh.cluster, frontend().name, target, ECHO_PORT, 'after-restart', 5000);
      // ...and the pods are served again: plaintext from the outsider is let in under PERMISSIVE.
      const outsider = await tcpFromPod(mesh.cluster, mesh.outsider.name, target, ECHO_PORT, 'outsider', 5000);
      console.log(`chaos: ${node} agent restart with a DENY in force: first frontend connection ${JSON.stringify(denied)}, outsider ${JSON.stringify(outsider)}`);
      assert.equal(denied.kind, 'error', `the DENY holds on the first connection after the ${node} agent is ready: ${JSON.stringify(denied)}`);
      assert.deepEqual(outsider.kind, 'reply', `the ${node} agent serves its pods after the restart: ${JSON.stringify(outsider)}`);
      removePolicy(file);
      await eventually(async () => (await tcpFromPod(mesh.cluster, frontend().name, target, ECHO_PORT, 'x', 3000)).kind === 'reply', 'removing the DENY restores traffic');
    });
  }

  it(`soak: ${SOAK_EACH} allowed and ${SOAK_EACH} denied connections leave fds, RSS and the live-connection table back near idle`, async function () {
    this.timeout(240_000);
    const agents = mesh.processes.state().agents;
    const file = applyPolicy('chaos-deny-echo-port.yaml', DENY_ECHO_PORT);
    const target = backend0().ips[0]!;
    await eventually(async () => (await tcpFromPod(mesh.cluster, frontend().name, target, ECHO_PORT, 'x', 3000)).kind === 'error', 'the port DENY takes effect');
    // Warm up (pools, JIT), then take the idle baseline once the live table is empty.
    await runSoak(mesh.cluster, frontend().name, { allowed: `${target}:8080`, denied: `${target}:${ECHO_PORT}`, each: 100, concurrency: SOAK_CONCURRENCY });
    const idle = async (): Promise<boolean> => {
      for (const a of agents) if ((await agentDebug(a.adminAddress)).connections.length > 0) return false;
      return true;
    };
    await eventually(idle, 'the live-connection tables are empty after the warm-up', 30_000);
    const before = new Map<string, ProcessFootprint>(agents.map((a) => [a.node, footprint(a.pid)]));
    const t0 = Date.now();
    const result = await runSoak(mesh.cluster, frontend().name, { allowed: `${target}:8080`, denied: `${target}:${ECHO_PORT}`, each: SOAK_EACH, concurrency: SOAK_CONCURRENCY });
    const soakMs = Date.now() - t0;
    const peak = new Map<string, ProcessFootprint>(agents.map((a) => [a.node, footprint(a.pid)]));
    await eventually(idle, 'the live-connection tables are empty after the soak', 30_000);
    const after = new Map<string, ProcessFootprint>(agents.map((a) => [a.node, footprint(a.pid)]));
    console.log(
      `chaos: soak: ${result.allowedOk}/${SOAK_EACH} allowed answered, ${result.deniedRefused}/${SOAK_EACH} denied refused, ${result.allowedFailed} allowed failed (${result.failureSample.join(', ')}), ${result.deniedLeaked} denied leaked, in ${seconds(soakMs)} s`,
    );
    for (const a of agents) {
      console.log(`chaos: soak: agent ${a.node}: before ${formatFootprint(before.get(a.node)!)}, at the end ${formatFootprint(peak.get(a.node)!)}, idle after ${formatFootprint(after.get(a.node)!)}`);
    }
    assert.equal(result.allowedOk, SOAK_EACH, 'every allowed connection was answered');
    assert.equal(result.deniedRefused, SOAK_EACH, 'every denied connection was refused');
    for (const a of agents) {
      const b = before.get(a.node)!;
      const f = after.get(a.node)!;
      assert.ok(f.fds <= b.fds + 16, `agent ${a.node}: ${f.fds} fds after the soak, ${b.fds} before`);
      assert.ok(f.rssBytes <= b.rssBytes * 1.5 + 64 * 1024 * 1024, `agent ${a.node}: RSS ${formatFootprint(f)} after, ${formatFootprint(b)} before`);
    }
    removePolicy(file);
  });
});
