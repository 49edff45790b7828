import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const se = (spec: string): string => doc('networking.istio.io/v1', 'ServiceEntry', spec);

const cases: ValidationCase[] = [
  {
    name: 'an external HTTPS API resolved by DNS',
    yaml: se(
      'hosts: [api.example.com]\nports:\n- {number: 443, name: https, protocol: HTTPS}\nresolution: DNS\nlocation: MESH_EXTERNAL',
    ),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'ServiceEntry');
      if (o.kind === 'ServiceEntry') {
        assert.deepEqual(o.spec.hosts, ['api.example.com']);
        assert.equal(o.spec.ports?.[0]?.number, 443);
      }
    },
  },
  {
    name: 'a STATIC entry with endpoints',
    yaml: se(
      'hosts: [db.internal]\naddresses: [240.0.0.10]\nports:\n- {number: 5432, name: tcp-pg, protocol: TCP}\nresolution: STATIC\nendpoints:\n- {address: 10.0.0.1, ports: {tcp-pg: 15432}}\n- address: 10.0.0.2',
    ),
    want: 'valid',
  },
  {
    name: 'a NONE entry with a CIDR',
    yaml: se(
      'hosts: [legacy.internal]\naddresses: [10.10.0.0/16]\nports:\n- {number: 80, name: http, protocol: HTTP}\nresolution: NONE',
    ),
    want: 'valid',
  },
  {
    name: 'a wildcard host with NONE resolution',
    yaml: se('hosts: ["*.example.com"]\nports:\n- {number: 443, name: tls, protocol: TLS}\nresolution: NONE'),
    want: 'valid',
  },
  {
    name: 'a workload selector',
    yaml: se(
      'hosts: [vm.internal]\nports:\n- {number: 80, name: http}\nresolution: STATIC\nworkloadSelector: {labels: {app: vm}}',
    ),
    want: 'valid',
  },
  {
    name: 'a DNS entry with hostname endpoints',
    yaml: se(
      'hosts: ["*.foo.com"]\nports:\n- {number: 80, name: http, protocol: HTTP}\nresolution: DNS\nendpoints:\n- address: us.foo.com',
    ),
    want: 'valid',
  },
  {
    name: 'multiple hosts on HTTP ports',
    yaml: se('hosts: [a.com, b.com]\nports:\n- {number: 80, name: http, protocol: HTTP}\nresolution: DNS'),
    want: 'valid',
  },
  {
    name: 'an empty workload selector',
    yaml: se('workloadSelector: {}\nhosts: [example.com]'),
    want: 'valid',
  },
  { name: 'a partial wildcard host', yaml: se('hosts: ["*x"]'), want: 'valid' },
  {
    name: 'a /32 address with the default resolution',
    yaml: se('hosts: [example.com]\naddresses: [1.1.1.1/32]'),
    want: 'valid',
  },
  {
    name: 'a zero-padded IPv6 address and exportTo to a namespace',
    yaml: se(
      'hosts: [example.com]\naddresses: [1.2.3.4, "001:db8::"]\nexportTo: [foo, .]\nports:\n- {name: foo, protocol: HTTP, number: 1234, targetPort: 2345}\nsubjectAltNames: [sa]\nresolution: DNS',
    ),
    want: 'valid',
  },
  { name: 'no hosts', yaml: se('ports:\n- {number: 80, name: http}'), want: ['spec.hosts'] },
  { name: 'the full wildcard host', yaml: se('hosts: ["*"]'), want: ['spec.hosts[0]'] },
  { name: 'a wildcard that is not leftmost', yaml: se('hosts: ["foo.*.com"]'), want: ['spec.hosts[0]'] },
  {
    name: 'an address that is not an IP',
    yaml: se('hosts: [a.com]\naddresses: [a.com]'),
    want: ['spec.addresses[0]'],
  },
  {
    name: 'a CIDR address with DNS resolution',
    yaml: se('hosts: [a.com]\naddresses: [10.0.0.0/8]\nresolution: DNS'),
    want: ['spec.addresses[0]'],
  },
  {
    name: 'duplicate port numbers',
    yaml: se('hosts: [a.com]\nports:\n- {number: 80, name: http}\n- {number: 80, name: http2}'),
    want: ['spec.ports[1].number'],
  },
  {
    name: 'duplicate port names',
    yaml: se('hosts: [a.com]\nports:\n- {number: 80, name: http}\n- {number: 81, name: http}'),
    want: ['spec.ports[1].name'],
  },
  {
    name: 'a port without a name',
    yaml: se('hosts: [a.com]\nports:\n- {number: 80}'),
    want: ['spec.ports[0].name'],
  },
  {
    name: 'port number 0',
    yaml: se('hosts: [a.com]\nports:\n- {number: 0, name: http}'),
    want: ['spec.ports[0].number'],
  },
  {
    name: 'an unknown protocol',
    yaml: se('hosts: [a.com]\nports:\n- {number: 80, name: http, protocol: SPDY}'),
    want: ['spec.ports[0].protocol'],
  },
  {
    name: 'a target port above 65535',
    yaml: se('hosts: [a.com]\nports:\n- {number: 80, name: http, targetPort: 70000}\nresolution: DNS'),
    want: ['spec.ports[0].targetPort'],
  },
  {
    name: 'endpoints with NONE resolution',
    yaml: se('hosts: [a.com]\nendpoints:\n- address: 1.1.1.1'),
    want: ['spec.endpoints'],
  },
  {
    name: 'a STATIC endpoint without an address',
    yaml: se('hosts: [a.com]\nresolution: STATIC\nendpoints:\n- labels: {a: b}'),
    want: ['spec.endpoints[0].address'],
  },
  {
    name: 'a STATIC endpoint with a host name',
    yaml: se('hosts: [a.com]\nresolution: STATIC\nendpoints:\n- address: foo.com'),
    want: ['spec.endpoints[0].address'],
  },
  {
    name: 'an endpoint port the entry does not define',
    yaml: se(
      'hosts: [a.com]\nports:\n- {number: 80, name: http}\nresolution: STATIC\nendpoints:\n- {address: 1.1.1.1, ports: {grpc: 90}}',
    ),
    want: ['spec.endpoints[0].ports["grpc"]'],
  },
  {
    name: 'a wildcard host with DNS resolution and no endpoints',
    yaml: se('hosts: ["*.a.com"]\nports:\n- {number: 80, name: http, protocol: HTTP}\nresolution: DNS'),
    want: ['spec.hosts[0]'],
  },
  {
    name: 'two endpoints with DNS_ROUND_ROBIN',
    yaml: se('hosts: [a.com]\nresolution: DNS_ROUND_ROBIN\nendpoints:\n- address: x.com\n- address: y.com'),
    want: ['spec.endpoints'],
  },
  {
    name: 'both a workload selector and endpoints',
    yaml: se(
      'hosts: [a.com]\nresolution: STATIC\nworkloadSelector: {labels: {app: a}}\nendpoints:\n- address: 1.1.1.1',
    ),
    want: ['spec.workloadSelector'],
  },
  {
    name: 'multiple hosts on a TCP port with DNS',
    yaml: se('hosts: [a.com, b.com]\nports:\n- {number: 9000, name: tcp, protocol: TCP}\nresolution: DNS'),
    want: ['spec.ports[0].protocol'],
  },
  {
    name: 'an unknown resolution',
    yaml: se('hosts: [a.com]\nresolution: ROUND_ROBIN'),
    want: ['spec.resolution'],
  },
  {
    name: 'duplicate exportTo entries',
    yaml: se('hosts: [a.com]\nexportTo: [".", "."]'),
    want: ['spec.exportTo[1]'],
  },
  {
    name: 'exportTo mixing * with a namespace',
    yaml: se('hosts: [a.com]\nexportTo: ["*", "ns1"]'),
    want: ['spec.exportTo'],
  },
  { name: 'no spec at all', yaml: se(''), want: ['spec'] },
  { name: 'an empty spec', yaml: se('{}'), want: ['spec.hosts'] },
  {
    name: 'an empty selector next to endpoints',
    yaml: se(
      'hosts: [example.com]\nworkloadSelector: {}\nresolution: STATIC\nendpoints:\n- address: 1.2.3.4',
    ),
    want: ['spec.workloadSelector'],
  },
];

describe('validation: ServiceEntry', () => {
  runCases(cases);
});
