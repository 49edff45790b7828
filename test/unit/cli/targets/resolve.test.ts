import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMeshState } from '../../../../src/cli/targets/mesh-state.js';
import { resolveAgent } from '../../../../src/cli/targets/resolve.js';

describe('cli/targets/resolve: which agent a debug command asks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-resolve-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const twoNodes = (): void => {
    writeMeshState(dir, {
      nodes: [
        { name: 'node1', adminAddress: '127.0.0.1:41002', istiodMonitoring: '127.0.0.1:41000' },
        { name: 'node0', adminAddress: '127.0.0.1:41001', istiodMonitoring: '127.0.0.1:41000' },
      ],
    });
  };

  it('with a mesh in the state directory and no --node, picks the first node and says so', () => {
    twoNodes();
    const notices: string[] = [];
    const t = resolveAgent({ stateDir: dir, notice: (l) => notices.push(l) });
    assert.equal(t.node, 'node0');
    assert.deepEqual(t.address, { host: '127.0.0.1', port: 41001 });
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /using the agent on node0 \(first node of the mesh in .*; pick another with --node NAME\)/);
  });

  it('--node and --admin still win over the first node', () => {
    twoNodes();
    assert.equal(resolveAgent({ stateDir: dir, node: 'node1' }).node, 'node1');
    const admin = resolveAgent({ stateDir: dir, admin: '127.0.0.1:42000' });
    assert.deepEqual(admin.address, { host: '127.0.0.1', port: 42000 });
    assert.equal(admin.node, undefined);
  });

  it('without a mesh, the default admin address (ztunnel 15000)', () => {
    const notices: string[] = [];
    const t = resolveAgent({ stateDir: join(dir, 'none'), notice: (l) => notices.push(l) });
    assert.deepEqual(t.address, { host: '127.0.0.1', port: 15000 });
    assert.deepEqual(notices, []);
  });
});
