/**
 * A local mesh for the fault-injection suites: two nodes, the demo (frontend
 * on node0, two backends on node1) without background traffic, an
 * unenrolled "outsider" pod on node0 for plaintext and TLS probes, and a TCP
 * echo server in the first backend for long-lived connections. Its istiod and
 * agents are under the process guard from the start. `teardown()` heals the
 * faults, releases the guard, takes the mesh down and checks nothing of it is
 * left, whatever failed before.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLeftovers, type ClusterPod, type NetnsCluster } from '../../src/mesh/cluster/index.js';
import { meshDown, meshUp } from '../../src/mesh/local-mesh.js';
import type { PodRecord } from '../../src/mesh/state.js';
import { FaultLedger } from './faults.js';
import { AMBIT_BIN, DEMO_APP, podOf, requireBuild } from './mesh.js';
import { MeshProcesses } from './mesh-processes.js';
import { startEchoServer } from './netns.js';

/** The echo server's port in the first backend pod. */
export const ECHO_PORT = 9000;

export interface ChaosMeshOptions {
  /** Name prefix of everything the mesh creates (namespaces, cgroups, pins); a random tail is added. */
  readonly prefix: string;
  /** Workload certificate lifetime (`mesh up --cert-ttl`), e.g. `40s`. */
  readonly certTtl?: string;
}

export class ChaosMesh {
  readonly stateDir: string;
  readonly prefix: string;
  readonly faults: FaultLedger;
  private upCluster: NetnsCluster | undefined;
  private upProcesses: MeshProcesses | undefined;
  private outsiderPod: ClusterPod | undefined;

  constructor(private readonly options: ChaosMeshOptions) {
    const tail = randomBytes(3).toString('hex');
    this.prefix = `${options.prefix}-${tail}`;
    this.stateDir = mkdtempSync(join(tmpdir(), `${options.prefix}-mesh-`));
    this.faults = new FaultLedger(`${options.prefix.replace(/-/g, '_')}_${tail}`);
  }

  get cluster(): NetnsCluster {
    if (this.upCluster === undefined) throw new Error('the chaos mesh is not up');
    return this.upCluster;
  }

  get processes(): MeshProcesses {
    if (this.upProcesses === undefined) throw new Error('the chaos mesh is not up');
    return this.upProcesses;
  }

  get outsider(): ClusterPod {
    if (this.outsiderPod === undefined) throw new Error('the chaos mesh is not up');
    return this.outsiderPod;
  }

  pod(app: 'frontend' | 'backend', index = 0): PodRecord {
    return podOf(this.processes.state(), app, index);
  }

  async up(): Promise<void> {
    requireBuild();
    const up = await meshUp({
      stateDir: this.stateDir,
      nodes: 2,
      demo: 'frontend-backend',
      prefix: this.prefix,
      ambitArgv: [process.execPath, AMBIT_BIN],
      ...(this.options.certTtl === undefined ? {} : { certTtl: this.options.certTtl }),
      demoAppArgv: [process.execPath, DEMO_APP],
      trafficMs: 0,
    });
    assert.ok(up.cluster, 'meshUp built the cluster');
    this.upCluster = up.cluster;
    this.upProcesses = new MeshProcesses(this.stateDir);
    this.upProcesses.watchAll();
    this.outsiderPod = await up.cluster.addPod('node0', 'outsider');
    await startEchoServer(up.cluster, { pod: this.pod('backend', 0).name }, ECHO_PORT);
  }

  /** Heals faults, releases the guard, takes the mesh down; fails if anything is left. */
  async teardown(): Promise<void> {
    const problems: string[] = [];
    await this.faults.undoAll().catch((err: Error) => problems.push(err.message));
    if (this.upProcesses !== undefined) this.upProcesses.releaseAll();
    await meshDown(this.stateDir).catch((err: Error) => problems.push(`mesh down: ${err.message}`));
    rmSync(this.stateDir, { recursive: true, force: true });
    const left = await findLeftovers(this.prefix);
    assert.deepEqual(left, { netns: [], links: [], cgroups: [] }, 'nothing of the chaos mesh is left behind');
    assert.deepEqual(problems, [], 'the teardown healed every fault');
  }
}
