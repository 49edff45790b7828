/**
 * istiod and the node agents of a running local mesh, as a fault-injection
 * suite drives them: watched by the process guard, killed on purpose, and
 * restarted with the command line they were started with (read from /proc
 * while they ran), the mesh state file updated so `meshDown` stops the new
 * PIDs. Only processes this mesh recorded are touched.
 */
import { readMeshState, writeMeshState, type AgentRecord, type MeshState } from '../../src/mesh/state.js';
import { startDetached, waitForHttpOk } from '../../src/mesh/processes.js';
import { isRunning, killProcess, processArgv, terminateProcess } from './faults.js';
import { processGuard } from './process-guard.js';
import { releaseMesh, watchMesh } from './mesh.js';

/** How long a restarted process may take to report ready. */
const READY_TIMEOUT_MS = 60_000;

export class MeshProcesses {
  /** Command lines by role key ('istiod' or the node name), captured while the processes ran. */
  private readonly argv = new Map<string, readonly string[]>();

  constructor(readonly stateDir: string) {
    const s = this.state();
    this.argv.set('istiod', processArgv(s.istiod.pid));
    for (const a of s.agents) this.argv.set(a.node, processArgv(a.pid));
  }

  state(): MeshState {
    const s = readMeshState(this.stateDir);
    if (s === undefined) throw new Error(`${this.stateDir}: no mesh state`);
    return s;
  }

  get istiodPid(): number {
    return this.state().istiod.pid;
  }

  agent(node: string): AgentRecord {
    const a = this.state().agents.find((x) => x.node === node);
    if (a === undefined) throw new Error(`the mesh in ${this.stateDir} has no agent on ${node}`);
    return a;
  }

  /** Watches istiod and every agent with the process guard. */
  watchAll(): void {
    watchMesh(this.state());
  }

  /** Stops watching them (before a teardown stops them). */
  releaseAll(): void {
    releaseMesh(this.state());
  }

  async killIstiod(): Promise<void> {
    await killProcess(this.istiodPid);
  }

  async killAgent(node: string): Promise<void> {
    await killProcess(this.agent(node).pid);
  }

  /** SIGTERM (an orderly stop), announced to the guard. */
  async stopAgent(node: string): Promise<void> {
    await terminateProcess(this.agent(node).pid);
  }

  /** Starts istiod again with its first command line (a running one is stopped first) and waits until ready. */
  async restartIstiod(): Promise<number> {
    const s = this.state();
    if (isRunning(s.istiod.pid)) await terminateProcess(s.istiod.pid);
    const pid = startDetached(this.argvOf('istiod'), s.istiod.log);
    writeMeshState(this.stateDir, { ...s, istiod: { ...s.istiod, pid } });
    processGuard.watch(pid, 'istiod', s.istiod.log);
    await waitForHttpOk(`http://${s.istiod.monitoringAddress}/ready`, pid, 'istiod', s.istiod.log, READY_TIMEOUT_MS);
    return pid;
  }

  /**
   * Starts the agent on `node` again (a running one is stopped first). With
   * `waitReady` it resolves the moment the readiness endpoint first answers
   * 200, so the caller can probe right after readiness.
   */
  async restartAgent(node: string, waitReady = true): Promise<number> {
    const s = this.state();
    const old = this.agent(node);
    if (isRunning(old.pid)) await terminateProcess(old.pid);
    const pid = startDetached(this.argvOf(node), old.log);
    writeMeshState(this.stateDir, { ...s, agents: s.agents.map((a) => (a.node === node ? { ...a, pid } : a)) });
    processGuard.watch(pid, `the agent on ${node}`, old.log);
    if (waitReady) await waitForHttpOk(`http://${old.readinessAddress}/healthz/ready`, pid, `the agent on ${node}`, old.log, READY_TIMEOUT_MS);
    return pid;
  }

  /** Restarts whatever of the mesh is not running (after a test that failed midway). */
  async restartDead(): Promise<string[]> {
    const restarted: string[] = [];
    if (!isRunning(this.istiodPid)) {
      await this.restartIstiod();
      restarted.push('istiod');
    }
    for (const a of this.state().agents) {
      if (isRunning(a.pid)) continue;
      await this.restartAgent(a.node);
      restarted.push(a.node);
    }
    return restarted;
  }

  private argvOf(key: string): readonly string[] {
    const argv = this.argv.get(key);
    if (argv === undefined) throw new Error(`no command line recorded for ${key}`);
    return argv;
  }
}
