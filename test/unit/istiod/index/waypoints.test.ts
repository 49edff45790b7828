/** Waypoint binding decisions and the GatewayAddress served for a waypoint. */
import assert from 'node:assert/strict';
import {
  boundWaypoint,
  waypointAddress,
  waypointFor,
  type Waypoint,
} from '../../../../src/istiod/index/waypoints.js';

const wps = (...ws: Waypoint[]) => new Map(ws.map((w) => [`${w.namespace}/${w.name}`, w]));
const wp = (f: Waypoint['for'], namespace = 'ns1', name = 'wp'): Waypoint => ({ namespace, name, for: f });

describe('waypoints', () => {
  const cases: [string, Parameters<typeof boundWaypoint>, string | undefined][] = [
    [
      'namespace label binds a service',
      ['service', 'ns1', {}, { 'istio.io/use-waypoint': 'wp' }, wps(wp('service'))],
      'ns1/wp',
    ],
    [
      'service label none opts out',
      [
        'service',
        'ns1',
        { 'istio.io/use-waypoint': 'none' },
        { 'istio.io/use-waypoint': 'wp' },
        wps(wp('service')),
      ],
      undefined,
    ],
    [
      'pod label, waypoint-for service: unbound',
      ['workload', 'ns1', { 'istio.io/use-waypoint': 'wp' }, {}, wps(wp('service'))],
      undefined,
    ],
    [
      'pod label, waypoint-for workload',
      ['workload', 'ns1', { 'istio.io/use-waypoint': 'wp' }, {}, wps(wp('workload'))],
      'ns1/wp',
    ],
    [
      'pod label, waypoint-for all',
      ['workload', 'ns1', { 'istio.io/use-waypoint': 'wp' }, {}, wps(wp('all'))],
      'ns1/wp',
    ],
    [
      'waypoint-for none',
      ['service', 'ns1', { 'istio.io/use-waypoint': 'wp' }, {}, wps(wp('none'))],
      undefined,
    ],
    [
      'use-waypoint-namespace',
      [
        'service',
        'ns1',
        { 'istio.io/use-waypoint': 'wp', 'istio.io/use-waypoint-namespace': 'shared' },
        {},
        wps(wp('service', 'shared')),
      ],
      'shared/wp',
    ],
    ['missing gateway', ['service', 'ns1', { 'istio.io/use-waypoint': 'wp' }, {}, wps()], undefined],
    [
      'own pod unbound',
      [
        'workload',
        'ns1',
        { 'gateway.networking.k8s.io/gateway-name': 'wp' },
        { 'istio.io/use-waypoint': 'wp' },
        wps(wp('all')),
      ],
      undefined,
    ],
  ];
  for (const [title, args, want] of cases) {
    it(title, () => {
      const w = boundWaypoint(...args);
      assert.equal(w === undefined ? undefined : `${w.namespace}/${w.name}`, want);
    });
  }

  it('waypoint-for defaults to service', () => {
    assert.equal(waypointFor(undefined), 'service');
    assert.equal(waypointFor({ 'istio.io/waypoint-for': 'bogus' }), 'service');
  });

  it('address is the hostname form on 15008', () => {
    const a = waypointAddress(wp('service'), 'cluster.local');
    assert.equal(a.hboneMtlsPort, 15008);
    assert.equal(a.destination.case, 'hostname');
    assert.deepEqual(
      a.destination.case === 'hostname' ? [a.destination.value.namespace, a.destination.value.hostname] : [],
      ['ns1', 'wp.ns1.svc.cluster.local'],
    );
  });
});
