import assert from 'node:assert/strict';
import type { ContainerRecord, PodRecord } from '../../../../src/mesh/state.js';
import type { ServiceName } from '../../../../src/mesh/workloads/desired.js';
import { nftRuleset, serviceRules, SERVICE_TABLE } from '../../../../src/mesh/workloads/service-proxy.js';

/** A pod whose container is this test process: alive, and with no ports to listen on it counts as ready. */
function pod(name: string, ip: string, labels: Record<string, string>, portNames: Record<string, number> = {}, namespace = 'default'): PodRecord {
  const container: ContainerRecord = { name: 'app', image: 'x', run: 'host-command', argv: [], env: {}, log: '/dev/null', pid: process.pid, ports: [], portNames };
  return {
    name, namespace, node: 'node0', uid: name, ips: [ip, 'fd00::1'], netns: name, netnsPath: name, cgroup: name,
    app: 'app', serviceAccount: 'default', enrolled: false, owner: { kind: 'Deployment', name: 'd', templateHash: 'h' },
    labels, containers: [container],
  };
}

const svc = (over: Partial<ServiceName> = {}): ServiceName => ({
  namespace: 'default', name: 'reviews', clusterIp: '10.96.1.5', selector: { app: 'reviews' },
  ports: [{ port: 9080, protocol: 'TCP' }], ...over,
});

describe('mesh/workloads/service-proxy: cluster IPs for pods outside the mesh', () => {
  it('one rule per Service port over the ready pods its selector picks, IPv4 only, sorted endpoints', () => {
    const pods = [pod('r2', '10.251.1.4', { app: 'reviews' }), pod('r1', '10.251.0.4', { app: 'reviews' }), pod('x', '10.251.0.9', { app: 'other' })];
    assert.deepEqual(serviceRules([svc()], pods), [
      { service: 'default/reviews', clusterIp: '10.96.1.5', port: 9080, protocol: 'tcp', endpoints: ['10.251.0.4', '10.251.1.4'], targetPort: 9080 },
    ]);
  });

  it('resolves a numeric and a named targetPort; a Service without a selector, another namespace or no endpoint gets no rule', () => {
    const pods = [pod('h', '10.251.0.2', { app: 'httpbin' }, { http: 8080 }), pod('o', '10.251.0.3', { app: 'httpbin' }, {}, 'other')];
    const rules = serviceRules(
      [
        svc({ name: 'httpbin', clusterIp: '10.96.1.6', selector: { app: 'httpbin' }, ports: [{ port: 8000, targetPort: 8080, protocol: 'TCP' }, { port: 8001, targetPort: 'http', protocol: 'TCP' }] }),
        svc({ name: 'manual', selector: undefined }),
        svc({ name: 'empty', selector: { app: 'none' } }),
      ],
      pods,
    );
    assert.deepEqual(rules.map((r) => [r.service, r.port, r.endpoints, r.targetPort]), [
      ['default/httpbin', 8000, ['10.251.0.2'], 8080],
      ['default/httpbin', 8001, ['10.251.0.2'], 8080],
    ]);
  });

  it('leaves out dead pods and pods without an owner (the frontend/backend demo)', () => {
    const dead = { ...pod('d', '10.251.0.5', { app: 'reviews' }), containers: [{ ...pod('d', '', {}).containers![0]!, pid: 2 ** 22 + 7 }] };
    const demo: PodRecord = { ...pod('demo', '10.251.0.6', { app: 'reviews' }) };
    delete (demo as { owner?: unknown }).owner;
    assert.deepEqual(serviceRules([svc()], [dead, demo]), []);
  });

  it('renders one table, replaced in one transaction, random spread over several endpoints', () => {
    const text = nftRuleset([
      { service: 'default/reviews', clusterIp: '10.96.1.5', port: 9080, protocol: 'tcp', endpoints: ['10.251.0.4', '10.251.1.4'], targetPort: 9080 },
      { service: 'default/details', clusterIp: '10.96.1.7', port: 9080, protocol: 'tcp', endpoints: ['10.251.1.2'], targetPort: 9080 },
    ]);
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 3), [`table ip ${SERVICE_TABLE}`, `delete table ip ${SERVICE_TABLE}`, `table ip ${SERVICE_TABLE} {`]);
    assert.ok(lines.includes('    ip daddr 10.96.1.5 tcp dport 9080 dnat to numgen random mod 2 map { 0 : 10.251.0.4, 1 : 10.251.1.4 } : 9080 comment "default/reviews"'));
    assert.ok(lines.includes('    ip daddr 10.96.1.7 tcp dport 9080 dnat to 10.251.1.2 : 9080 comment "default/details"'));
    assert.ok(nftRuleset([]).includes('type nat hook prerouting priority dstnat; policy accept;'));
  });
});
