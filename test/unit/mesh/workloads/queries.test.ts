import assert from 'node:assert/strict';
import type { PodRecord } from '../../../../src/mesh/state.js';
import { podView } from '../../../../src/mesh/workloads/queries.js';

const base: PodRecord = {
  name: 'frontend-abc-12345', namespace: 'demo', node: 'node0', uid: 'u1', ips: ['10.251.0.2'], netns: 'n', netnsPath: '/run/netns/n',
  cgroup: '/sys/fs/cgroup/x', app: 'frontend', serviceAccount: 'frontend', enrolled: true,
};

describe('mesh/workloads/queries: podView (the rows of `mesh get pods`)', () => {
  it('shows a demo pod by its app process: 1/1 Running while it lives, Failed once it is gone', () => {
    const live = podView({ ...base, appPid: process.pid, appLog: '/tmp/f.log' });
    assert.deepEqual([live.ready, live.status, live.owner, live.identity], ['1/1', 'Running', 'demo', 'spiffe://cluster.local/ns/demo/sa/frontend']);
    assert.deepEqual(live.containers, [{ name: 'frontend', image: 'ambit-demo/frontend', pid: process.pid, running: true, log: '/tmp/f.log' }]);
    const dead = podView({ ...base, appPid: 2 ** 22 + 11 });
    assert.deepEqual([dead.ready, dead.status], ['0/1', 'Failed']);
  });

  it('counts a workload pod ready only when its container listens on its ports', () => {
    const c = { name: 'app', image: 'x', run: 'standin' as const, argv: [], env: {}, log: '/dev/null', pid: process.pid, ports: [1] };
    const v = podView({ ...base, owner: { kind: 'Deployment', name: 'd', templateHash: 'h' }, containers: [c] });
    assert.deepEqual([v.status, v.owner], ['NotReady', 'Deployment/d']);
  });
});
