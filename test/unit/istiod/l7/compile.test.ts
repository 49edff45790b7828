/** Table-style cases of the waypoint L7 compiler over Bookinfo shapes. */
import { strict as assert } from 'node:assert';
import type { ConfigKind, ConfigObject } from '../../../../src/istiod/config/types.js';
import { compileWaypointConfig, type CompileInput } from '../../../../src/istiod/l7/index.js';

function obj<K extends ConfigKind>(kind: K, name: string, spec: unknown, extra: Record<string, unknown> = {}): ConfigObject<K> {
  return { kind, apiVersion: 'v1', metadata: { name, namespace: 'default', labels: {}, annotations: {}, ...(extra['meta'] as object) }, spec, status: extra['status'], origin: { source: 'test' } } as unknown as ConfigObject<K>;
}
const reviews = obj('Service', 'reviews', { type: 'ClusterIP', clusterIP: '10.0.0.5', selector: { app: 'reviews' }, ports: [{ name: 'http', protocol: 'TCP', port: 9080 }] });
const pod = (n: string, v: string, ip: string): ConfigObject<'Pod'> =>
  obj('Pod', n, { containers: [] }, { meta: { labels: { app: 'reviews', version: v, 'pod-template-hash': 'abc' } }, status: { phase: 'Running', podIP: ip } });
const pods = [pod('reviews-v1-abc-1', 'v1', '10.1.0.1'), pod('reviews-v2-abc-2', 'v2', '10.1.0.2')];
const dr = obj('DestinationRule', 'reviews', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] });
function input(over: Partial<CompileInput>): CompileInput {
  return { waypoint: { namespace: 'default', name: 'waypoint', for: 'service', identity: 'spiffe://cluster.local/ns/default/sa/waypoint' }, trustDomain: 'cluster.local', domainSuffix: 'cluster.local', clusterId: 'Kubernetes', services: [reviews], allServices: [reviews], pods, podEnrolled: () => true, virtualServices: [], httpRoutes: [], grpcRoutes: [], tcpRoutes: [], destinationRules: [dr], authorizationPolicies: [], ...over };
}
const H = 'reviews.default.svc.cluster.local';

describe('compileWaypointConfig', () => {
  const cases: { name: string; vs?: unknown; check: (c: ReturnType<typeof compileWaypointConfig>) => void }[] = [
    { name: 'default route without VirtualService', check: (c) => {
      assert.equal(c.services[0]?.http[0]?.source, 'default');
      assert.equal(c.clusters[`outbound|9080||${H}`]?.endpoints.length, 2);
    } },
    { name: 'virtual-service-all-v1', vs: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }, check: (c) => {
      const a = c.services[0]?.http[0]?.action;
      assert.deepEqual(a, { kind: 'forward', clusters: [{ cluster: `outbound|9080|v1|${H}`, weight: 100 }] });
      assert.deepEqual(c.clusters[`outbound|9080|v1|${H}`]?.endpoints.map((e) => e.ip), ['10.1.0.1']);
    } },
    { name: 'jason header match and 50/50 weights, timeout 0.5s', vs: { hosts: ['reviews'], http: [
      { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }], timeout: '0.5s' },
      { route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 50 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 50 }] }] }, check: (c) => {
      const [first, second] = c.services[0]?.http ?? [];
      assert.deepEqual(first?.matches[0]?.headers, [{ name: 'end-user', match: { exact: 'jason' } }]);
      assert.equal(first?.timeoutMs, 500);
      assert.deepEqual(second?.action.kind === 'forward' ? second.action.clusters.map((x) => x.weight) : [], [50, 50]);
    } },
    { name: 'unknown subset -> cluster absent', vs: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }] }, check: (c) => {
      assert.equal(c.clusters[`outbound|9080|v9|${H}`], undefined);
      assert.ok(c.warnings.some((w) => w.includes('v9')));
    } },
    { name: 'VS bound only to another gateway does not apply', vs: { hosts: ['reviews'], gateways: ['bookinfo-gateway'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }, check: (c) => {
      assert.equal(c.services[0]?.routeSource, 'default');
    } },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const vs = tc.vs === undefined ? [] : [obj('VirtualService', 'reviews', tc.vs)];
      tc.check(compileWaypointConfig(input({ virtualServices: vs })));
    });
  }
  it('peers carry the deployment name and canonical revision', () => {
    const c = compileWaypointConfig(input({}));
    assert.equal(c.peers['10.1.0.1']?.workload, 'reviews-v1');
    assert.equal(c.peers['10.1.0.1']?.canonicalRevision, 'v1');
  });
});
