import assert from 'node:assert/strict';
import { mapRows, mapTable, podTable, statusText } from '../../../../src/cli/render/bpf-tables.js';
import {
  COUNTER_NAMES,
  type RedirectStatus,
  type RedirectCounters,
} from '../../../../src/ztunnel/redirect/index.js';

function counters(): RedirectCounters {
  return Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as RedirectCounters;
}

const STATUS: RedirectStatus = {
  instance: 'node-a',
  pinDir: '/sys/fs/bpf/ambit/node-a',
  pinned: true,
  programs: ['ambit_connect4', 'ambit_sk_lookup'],
  maps: ['pods', 'pod_addrs', 'listeners', 'cookie_dst', 'tuple_dst', 'counters'],
  pods: [
    {
      uid: 'pod-b',
      netnsCookie: 18446744073709551615n,
      cgroupId: 42n,
      ips: ['10.0.0.2', 'fd00::2'],
      excludedPorts: [],
      excludedCidrs: [],
      inboundListener: false,
      links: [],
    },
    {
      uid: 'pod-a',
      netnsCookie: 4097n,
      cgroupId: 7n,
      ips: ['10.0.0.1'],
      excludedPorts: [22, 9090],
      excludedCidrs: ['10.96.0.0/12'],
      inboundListener: true,
      links: ['connect4', 'connect6', 'sockops', 'sk_lookup'],
    },
  ],
  counters: counters(),
};

describe('cli/render/bpf-tables', () => {
  it('pods: one row per pod sorted by UID, ids in decimal, lists comma-joined, - when empty', () => {
    const links = 'connect4,connect6,sockops,sk_lookup';
    const pad = (text: string, width: number): string => text.padEnd(width);
    // Each column: its widest cell plus 5.
    const w = [10, 21, 25, 14, 21, links.length + 5, 19];
    const row = (cells: string[]): string =>
      cells.map((c, i) => (i < w.length ? pad(c, w[i] as number) : c)).join('');
    assert.equal(
      podTable(STATUS),
      [
        row([
          'UID',
          'IPS',
          'NETNS COOKIE',
          'CGROUP ID',
          'INBOUND LISTENER',
          'LINKS',
          'EXCLUDED PORTS',
          'EXCLUDED CIDRS',
        ]),
        row(['pod-a', '10.0.0.1', '4097', '7', 'yes', links, '22,9090', '10.96.0.0/12']),
        row(['pod-b', '10.0.0.2,fd00::2', '18446744073709551615', '42', 'no', '-', '-', '-']),
        '',
      ].join('\n'),
    );
  });

  it('maps: entries derived from the pods where the status says, - where it cannot', () => {
    assert.deepEqual(mapRows(STATUS), [
      { name: 'pods', entries: 2 },
      { name: 'pod_addrs', entries: 3 },
      { name: 'listeners', entries: 1 },
      { name: 'cookie_dst', entries: undefined },
      { name: 'tuple_dst', entries: undefined },
      { name: 'counters', entries: COUNTER_NAMES.length },
    ]);
    assert.match(mapTable(STATUS), /^MAP\s+ENTRIES\npods\s+2\n/);
    assert.match(mapTable(STATUS), /\ncookie_dst\s+-\n/);
  });

  it('status: instance, pin dir, programs, maps and counts, then every counter in order', () => {
    const text = statusText(STATUS);
    const [summary = '', table = ''] = text.split('\n\n');
    assert.deepEqual(summary.split('\n'), [
      'Instance:          node-a',
      'Pin dir:           /sys/fs/bpf/ambit/node-a',
      'Programs:          ambit_connect4,ambit_sk_lookup',
      'Maps:              pods,pod_addrs,listeners,cookie_dst,tuple_dst,counters',
      'Enrolled pods:     2',
      'Inbound listeners: 1',
    ]);
    const rows = table.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^COUNTER\s+VALUE$/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/\s+/)),
      COUNTER_NAMES.map((n, i) => [n, String(i)]),
    );
  });
});
