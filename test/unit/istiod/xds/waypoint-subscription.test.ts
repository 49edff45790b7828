import assert from 'node:assert/strict';
import { parseSpiffeId } from '../../../../src/shared/spiffe.js';
import { WAYPOINT_CONFIG_TYPE_URL } from '../../../../src/shared/l7/waypoint-config.js';
import { ADDRESS_TYPE_URL, authorizeSubscription, type XdsCaller } from '../../../../src/istiod/xds/index.js';

const uri = 'spiffe://cluster.local/ns/default/sa/waypoint';
const waypoint: XdsCaller = { kind: 'workload', identity: parseSpiffeId(uri), uri };
const nodeAgent: XdsCaller = { kind: 'node-agent', node: 'node-a' };

const cases: readonly {
  name: string;
  caller: XdsCaller;
  typeUrl: string;
  wildcard: boolean;
  names: string[];
  denied?: RegExp;
}[] = [
  {
    name: 'a waypoint by its own name',
    caller: waypoint,
    typeUrl: WAYPOINT_CONFIG_TYPE_URL,
    wildcard: false,
    names: ['default/waypoint'],
  },
  {
    name: 'a waypoint before it names anything',
    caller: waypoint,
    typeUrl: WAYPOINT_CONFIG_TYPE_URL,
    wildcard: false,
    names: [],
  },
  {
    name: 'a waypoint asking for another waypoint',
    caller: waypoint,
    typeUrl: WAYPOINT_CONFIG_TYPE_URL,
    wildcard: false,
    names: ['default/waypoint', 'other/waypoint'],
    denied: /only the waypoint configuration "default\/waypoint", not "other\/waypoint"/,
  },
  {
    name: 'a waypoint subscribing by wildcard',
    caller: waypoint,
    typeUrl: WAYPOINT_CONFIG_TYPE_URL,
    wildcard: true,
    names: [],
    denied: /subscribed to every .*by name/,
  },
  {
    name: 'a node agent',
    caller: nodeAgent,
    typeUrl: WAYPOINT_CONFIG_TYPE_URL,
    wildcard: false,
    names: ['default/waypoint'],
    denied: /served only to waypoints.*node agent of node node-a/,
  },
  {
    name: 'a local client',
    caller: { kind: 'local' },
    typeUrl: WAYPOINT_CONFIG_TYPE_URL,
    wildcard: true,
    names: [],
  },
  {
    name: 'other types are not checked here',
    caller: nodeAgent,
    typeUrl: ADDRESS_TYPE_URL,
    wildcard: true,
    names: [],
  },
];

describe('xds subscription authorization (waypoint configuration)', () => {
  for (const c of cases) {
    it(`${c.denied ? 'refuses' : 'allows'} ${c.name}`, () => {
      const run = (): void => authorizeSubscription(c.caller, c.typeUrl, c.wildcard, c.names);
      if (c.denied === undefined) assert.doesNotThrow(run);
      else
        assert.throws(
          run,
          (err: Error & { code?: string }) =>
            err.code === 'XDS_PERMISSION_DENIED' && c.denied!.test(err.message),
        );
    });
  }
});
