import assert from 'node:assert/strict';
import { TargetError } from '../../../../src/cli/targets/errors.js';
import { decodeSyncz } from '../../../../src/cli/targets/sync-status.js';

describe('cli/targets/sync-status', () => {
  it("decodes istiod's SyncStatus entries and keeps each raw entry", () => {
    const entry = {
      connectionId: '3',
      protocol: 'delta',
      nodeId: 'ztunnel~10.0.0.2~ztunnel-a.istio-system~istio-system.svc.cluster.local',
      nodeName: 'node-a',
      clusterId: 'Kubernetes',
      connectedAt: '2026-01-01T00:00:00.000Z',
      peer: '10.0.0.2:41000',
      types: [
        { typeUrl: 'type.googleapis.com/istio.workload.Address', state: 'SYNCED', resourceCount: 4 },
        {
          typeUrl: 'type.googleapis.com/istio.security.Authorization',
          state: 'STALE',
          resourceCount: 1,
          lastNack: 'bad',
        },
      ],
    };
    const [s] = decodeSyncz('127.0.0.1:15014', [entry]);
    assert.equal(s?.istiod, '127.0.0.1:15014');
    assert.equal(s?.nodeName, 'node-a');
    assert.deepEqual(
      s?.types.map((t) => [t.state, t.resourceCount, t.lastNack]),
      [
        ['SYNCED', 4, undefined],
        ['STALE', 1, 'bad'],
      ],
    );
    assert.equal(s?.raw, entry);
  });

  it('a type without a state is NOT SENT; missing fields are empty', () => {
    const [s] = decodeSyncz('i', [{ types: [{ typeUrl: 't' }] }]);
    assert.equal(s?.types[0]?.state, 'NOT SENT');
    assert.equal(s?.nodeId, '');
  });

  it('an answer that is not a list is TARGET_BAD_RESPONSE', () => {
    assert.throws(
      () => decodeSyncz('i:1', {}),
      (e: unknown) =>
        e instanceof TargetError && e.code === 'TARGET_BAD_RESPONSE' && /istiod on i:1/.test(e.message),
    );
  });
});
