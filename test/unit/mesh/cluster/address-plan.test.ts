import assert from 'node:assert/strict';
import { AddressPlan, cidrsOverlap, nodeIp6, parseCidr, podCidr6, podGateway6, podIp6 } from '../../../../src/mesh/cluster/address-plan.js';
import { ClusterError } from '../../../../src/mesh/cluster/errors.js';

describe('AddressPlan', () => {
  const plan = new AddressPlan();

  it('places node i at .10+i on the underlay subnet and gives it the i-th /24 of the pod supernet', () => {
    assert.deepEqual([plan.nodeIp(0), plan.nodeIp(3)], ['10.250.0.10', '10.250.0.13']);
    assert.deepEqual([plan.podCidr(0), plan.podCidr(3)], ['10.251.0.0/24', '10.251.3.0/24']);
    assert.equal(plan.podGateway(2), '10.251.2.1');
  });

  it('numbers pods from .2 of their node CIDR', () => {
    assert.deepEqual([plan.podIp(0, 0), plan.podIp(1, 5)], ['10.251.0.2', '10.251.1.7']);
  });

  it('bounds nodes by the smaller of underlay hosts and pod CIDRs, and pods by the /24', () => {
    assert.equal(plan.maxNodes, 245);
    assert.equal(plan.maxPodsPerNode, 253);
    assert.throws(() => plan.podIp(0, 253), (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ADDRESS_CLASH');
    assert.throws(() => plan.nodeIp(245), (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ADDRESS_CLASH');
  });

  const routeCases = [
    { routes: ['192.0.2.0/24', 'default'], clash: false },
    { routes: ['10.0.0.0/8'], clash: true },
    { routes: ['10.251.7.0/24'], clash: true },
    { routes: ['10.250.0.128/25'], clash: true },
    { routes: ['10.252.0.0/16', '172.17.0.0/16'], clash: false },
  ];
  for (const c of routeCases) {
    it(`host routes ${c.routes.join(', ')}: ${c.clash ? 'clash' : 'no clash'}`, () => {
      const check = (): void => plan.checkAgainstRoutes(c.routes);
      if (c.clash) assert.throws(check, (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ADDRESS_CLASH');
      else assert.doesNotThrow(check);
    });
  }

  it('rejects a node subnet that overlaps the pod supernet', () => {
    assert.throws(
      () => new AddressPlan({ nodeSubnet: '10.251.9.0/24' }),
      (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_ADDRESS_CLASH',
    );
  });

  it('normalises a CIDR to its network and compares prefixes by the shorter one', () => {
    assert.deepEqual(parseCidr('10.1.2.3/16'), parseCidr('10.1.0.0/16'));
    assert.equal(cidrsOverlap(parseCidr('10.1.0.0/16'), parseCidr('10.1.200.0/24')), true);
    assert.equal(cidrsOverlap(parseCidr('10.1.0.0/16'), parseCidr('10.2.0.0/16')), false);
  });

  it('rejects text that is not an address', () => {
    for (const bad of ['10.1.2', '10.1.2.256', '10.1.2.3/33', 'x.1.2.3']) {
      assert.throws(() => parseCidr(bad), (e: unknown) => e instanceof ClusterError, bad);
    }
  });

  it('writes IPv6 addresses in the canonical form sockets report', () => {
    assert.deepEqual(
      [nodeIp6(0), podCidr6(0), podGateway6(1), podIp6(0, 0), podIp6(10, 300)],
      ['fd61:6d62:6974:ffff::a', 'fd61:6d62:6974::/64', 'fd61:6d62:6974:1::1', 'fd61:6d62:6974::2', 'fd61:6d62:6974:a::12e'],
    );
  });
});
