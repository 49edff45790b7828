import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetError } from '../../../../src/cli/targets/errors.js';
import { writeMeshState } from '../../../../src/cli/targets/mesh-state.js';
import { resolveAgent, resolveIstiods } from '../../../../src/cli/targets/resolve.js';

describe('cli/targets/resolve', () => {
  let dir: string;
  let empty: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-resolve-'));
    empty = mkdtempSync(join(tmpdir(), 'ambit-resolve-empty-'));
    writeMeshState(dir, {
      nodes: [
        { name: 'node-a', adminAddress: '10.0.0.2:15000', istiodMonitoring: '10.0.0.9:15014' },
        { name: 'node-b', adminAddress: '10.0.0.3:15000', istiodMonitoring: '10.0.0.9:15014' },
        { name: 'node-c', adminAddress: '10.0.0.4:15000', istiodMonitoring: '10.0.0.8:15014' },
      ],
    });
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  describe('resolveAgent', () => {
    it('--admin is used as given', () => {
      const t = resolveAgent({ admin: '127.0.0.1:1234', stateDir: empty });
      assert.deepEqual(t.address, { host: '127.0.0.1', port: 1234 });
      assert.equal(t.node, undefined);
    });

    it('--node looks the admin address up in the mesh state and names the node in the hint', () => {
      const t = resolveAgent({ node: 'node-b', stateDir: dir });
      assert.deepEqual(t.address, { host: '10.0.0.3', port: 15000 });
      assert.equal(t.node, 'node-b');
      assert.match(t.hint, /is `ambit ztunnel` running on node node-b\?/);
    });

    it('--node without a mesh state fails with MESH_STATE_MISSING', () => {
      assert.throws(
        () => resolveAgent({ node: 'node-b', stateDir: empty }),
        (e: unknown) => e instanceof TargetError && e.code === 'MESH_STATE_MISSING',
      );
    });

    it('neither flag: the default admin address 127.0.0.1:15000', () => {
      assert.deepEqual(resolveAgent({ stateDir: empty }).address, { host: '127.0.0.1', port: 15000 });
    });
  });

  describe('resolveIstiods', () => {
    it('--istiod is used as given', () => {
      assert.deepEqual(
        resolveIstiods({ istiod: '[::1]:9', stateDir: dir, stateDirExplicit: true }).map((t) => t.address),
        [{ host: '::1', port: 9 }],
      );
    });

    it('the mesh state gives each distinct istiod once, sorted', () => {
      assert.deepEqual(
        resolveIstiods({ stateDir: dir, stateDirExplicit: false }).map((t) => t.address),
        [
          { host: '10.0.0.8', port: 15014 },
          { host: '10.0.0.9', port: 15014 },
        ],
      );
    });

    it('no state under the default directory: 127.0.0.1:15014', () => {
      assert.deepEqual(
        resolveIstiods({ stateDir: empty, stateDirExplicit: false }).map((t) => t.address),
        [{ host: '127.0.0.1', port: 15014 }],
      );
    });

    it('no state under an explicit --state-dir is an error', () => {
      assert.throws(
        () => resolveIstiods({ stateDir: empty, stateDirExplicit: true }),
        (e: unknown) => e instanceof TargetError && e.code === 'MESH_STATE_MISSING',
      );
    });

    it('the hint names the monitoring flag and address', () => {
      assert.match(
        resolveIstiods({ istiod: '127.0.0.1:9', stateDir: empty, stateDirExplicit: false })[0]?.hint ?? '',
        /--monitoring-addr 127\.0\.0\.1:9/,
      );
    });
  });
});
