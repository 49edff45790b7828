import assert from 'node:assert/strict';
import {
  proxyName,
  proxyStatusTable,
  shortTypeName,
  sortStatuses,
} from '../../../../src/cli/render/proxy-status-table.js';
import { decodeSyncz, type ProxyStatus } from '../../../../src/cli/targets/sync-status.js';

const ADDRESS = 'type.googleapis.com/istio.workload.Address';
const AUTHZ = 'type.googleapis.com/istio.security.Authorization';

function status(over: Record<string, unknown>): ProxyStatus {
  const [s] = decodeSyncz('127.0.0.1:15014', [
    {
      connectionId: '1',
      nodeId: 'ztunnel~10.0.0.2~ztunnel-a.istio-system~istio-system.svc.cluster.local',
      nodeName: 'node-a',
      clusterId: 'Kubernetes',
      connectedAt: '2026-01-01T00:00:00.000Z',
      types: [
        { typeUrl: ADDRESS, state: 'SYNCED' },
        { typeUrl: AUTHZ, state: 'NOT SENT' },
      ],
      ...over,
    },
  ]);
  return s as ProxyStatus;
}

describe('cli/render/proxy-status-table', () => {
  const shortNames = [
    { url: ADDRESS, want: 'ADDRESS' },
    { url: AUTHZ, want: 'AUTHORIZATION' },
    { url: 'type.googleapis.com/istio.workload.Workload', want: 'WORKLOAD' },
    { url: 'istio.workload.Service', want: 'SERVICE' },
  ];
  for (const c of shortNames) {
    it(`${c.url} is ${c.want}`, () => {
      assert.equal(shortTypeName(c.url), c.want);
    });
  }

  it('the name is the <pod>.<namespace> part of a four-part node id, else the node id', () => {
    assert.equal(proxyName(status({})), 'ztunnel-a.istio-system');
    assert.equal(proxyName(status({ nodeId: 'plain-id' })), 'plain-id');
    assert.equal(proxyName(status({ nodeId: '' })), 'node-a');
  });

  it('prints the columns, with padding 5, and one state column per type', () => {
    const out = proxyStatusTable([status({})]);
    assert.equal(
      out,
      'NAME                       CLUSTER        NODE       ISTIOD              VERSION     SUBSCRIBED TYPES              CONNECTED SINCE              ADDRESS     AUTHORIZATION\n' +
        'ztunnel-a.istio-system     Kubernetes     node-a     127.0.0.1:15014     -           2 (ADDRESS,AUTHORIZATION)     2026-01-01T00:00:00.000Z     SYNCED      NOT SENT\n',
    );
  });

  it('ADDRESS and AUTHORIZATION always have columns; other types follow sorted; unsubscribed types print -', () => {
    const out = proxyStatusTable([
      status({ types: [{ typeUrl: 'x.Zeta', state: 'STALE' }] }),
      status({
        connectionId: '2',
        types: [
          { typeUrl: 'x.Alpha', state: 'SYNCED' },
          { typeUrl: ADDRESS, state: 'STALE' },
        ],
      }),
    ]);
    const [header = '', ...rows] = out.trimEnd().split('\n');
    assert.deepEqual(header.split(/ {2,}/).slice(-4), ['ADDRESS', 'AUTHORIZATION', 'ALPHA', 'ZETA']);
    assert.deepEqual(
      rows.map((r) => r.split(/ {2,}/).slice(-4)),
      [
        ['-', '-', '-', 'STALE'],
        ['STALE', '-', 'SYNCED', '-'],
      ],
    );
  });

  it('SUBSCRIBED TYPES lists the types in column order, whatever order istiod served them in', () => {
    const s = status({
      types: [
        { typeUrl: 'x.Beta', state: 'SYNCED' },
        { typeUrl: AUTHZ, state: 'SYNCED' },
        { typeUrl: ADDRESS, state: 'SYNCED' },
      ],
    });
    assert.match(proxyStatusTable([s]), / 3 \(ADDRESS,AUTHORIZATION,BETA\) /);
  });

  it('sorts by cluster, then name, then istiod and connection', () => {
    const sorted = sortStatuses([
      status({ clusterId: 'b', nodeId: 'a' }),
      status({ clusterId: 'a', nodeId: 'z' }),
      status({ clusterId: 'a', nodeId: 'm', connectionId: '9' }),
      status({ clusterId: 'a', nodeId: 'm', connectionId: '1' }),
    ]);
    assert.deepEqual(
      sorted.map((s) => `${s.clusterId}/${s.nodeId}/${s.connectionId}`),
      ['a/m/1', 'a/m/9', 'a/z/1', 'b/a/1'],
    );
  });

  it('no proxies: just the header', () => {
    assert.equal(proxyStatusTable([]).split('\n').length, 2);
  });
});
