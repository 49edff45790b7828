import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError } from '../../../../src/mesh/cluster/errors.js';
import { readState, writeState, STATE_VERSION, type ClusterState } from '../../../../src/mesh/cluster/state.js';

describe('cluster state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-state-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const state: ClusterState = {
    version: STATE_VERSION,
    prefix: 'ambit-test',
    createdAt: '2026-01-01T00:00:00.000Z',
    ownerPid: 1,
    cgroupRoot: '/sys/fs/cgroup/unified',
    cgroupDir: '/sys/fs/cgroup/unified/ambit-test',
    underlay: { netns: 'ambit-test-underlay', bridge: 'br0' },
    nodes: [
      { name: 'node0', index: 0, netns: 'ambit-test-node0', ip: '10.250.0.10', podCidr: '10.251.0.0/24', podGateway: '10.251.0.1', cgroup: '/sys/fs/cgroup/unified/ambit-test/node.node0', underlayLink: 'vn0' },
    ],
    pods: [],
    processes: [{ pid: 42, cgroup: '/sys/fs/cgroup/unified/ambit-test/node.node0', argv: ['sleep', '1'] }],
  };

  it('reads back what it wrote and leaves no temporary file', () => {
    const f = join(dir, 'sub', 'c.json');
    writeState(f, state);
    assert.deepEqual(readState(f), state);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['c.json']);
  });

  const broken: { name: string; value: unknown; field: string }[] = [
    { name: 'a wrong version', value: { ...state, version: 99 }, field: 'version' },
    { name: 'a prefix with a slash', value: { ...state, prefix: '../etc' }, field: 'prefix' },
    { name: 'a node without netns', value: { ...state, nodes: [{ name: 'n' }] }, field: 'nodes[0].netns' },
    { name: 'a process without pid', value: { ...state, processes: [{ cgroup: '/x' }] }, field: 'processes[0]' },
  ];
  for (const b of broken) {
    it(`rejects ${b.name}, naming the field ${b.field}`, () => {
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify(b.value));
      assert.throws(
        () => readState(f),
        (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_STATE_INVALID' && e.message.includes(b.field),
      );
    });
  }

  it('rejects a file that is not JSON', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{');
    assert.throws(() => readState(f), (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_STATE_INVALID');
  });
});
