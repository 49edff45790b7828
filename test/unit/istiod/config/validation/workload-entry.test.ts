import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const we = (spec: string): string => doc('networking.istio.io/v1', 'WorkloadEntry', spec);

const cases: ValidationCase[] = [
  {
    name: 'a VM with an IP, ports, labels and a service account',
    yaml: we(
      'address: 10.0.0.5\nports: {http: 8080, grpc: 9090}\nlabels: {app: ratings, version: v1}\nserviceAccount: ratings\nweight: 3\nlocality: us-east1/a\nnetwork: vpc1',
    ),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'WorkloadEntry');
      if (o.kind === 'WorkloadEntry') {
        assert.equal(o.spec.address, '10.0.0.5');
        assert.deepEqual(o.spec.ports, { http: 8080, grpc: 9090 });
      }
    },
  },
  { name: 'an IPv6 address', yaml: we('address: "2001:db8::5"'), want: 'valid' },
  { name: 'a DNS name as address', yaml: we('address: vm1.example.com'), want: 'valid' },
  { name: 'a network without an address', yaml: we('network: remote'), want: 'valid' },
  { name: 'a unix socket address', yaml: we('address: unix:///var/run/app.sock'), want: 'valid' },
  {
    name: 'the v1alpha3 apiVersion',
    yaml: we('address: 1.2.3.4').replace('/v1\n', '/v1alpha3\n'),
    want: 'valid',
  },
  { name: 'an abstract unix socket', yaml: we('address: unix://@foo'), want: 'valid' },
  { name: 'neither address nor network', yaml: we('labels: {app: a}'), want: ['spec.address'] },
  {
    name: 'an address that is neither IP nor host name',
    yaml: we('address: "not valid!"'),
    want: ['spec.address'],
  },
  { name: 'a port value of 0', yaml: we('address: 1.2.3.4\nports: {http: 0}'), want: ['spec.ports["http"]'] },
  {
    name: 'a port value above 65535',
    yaml: we('address: 1.2.3.4\nports: {http: 65536}'),
    want: ['spec.ports["http"]'],
  },
  {
    name: 'a port name that is not a DNS label',
    yaml: we('address: 1.2.3.4\nports: {"http_port": 80}'),
    want: ['spec.ports["http_port"]'],
  },
  {
    name: 'a port given as text',
    yaml: we('address: 1.2.3.4\nports: {http: "80"}'),
    want: ['spec.ports["http"]'],
  },
  {
    name: 'a unix address with ports',
    yaml: we('address: unix:///a.sock\nports: {http: 80}'),
    want: ['spec.ports'],
  },
  { name: 'a relative unix socket path', yaml: we('address: unix://a.sock'), want: ['spec.address'] },
  { name: 'a negative weight', yaml: we('address: 1.2.3.4\nweight: -1'), want: ['spec.weight'] },
  {
    name: 'an invalid label value',
    yaml: we('address: 1.2.3.4\nlabels: {app: "a b"}'),
    want: ['spec.labels["app"]'],
  },
  {
    name: 'a service account with upper case',
    yaml: we('address: 1.2.3.4\nserviceAccount: Ratings'),
    want: ['spec.serviceAccount'],
  },
  { name: 'an unknown field', yaml: we('address: 1.2.3.4\nip: 1.2.3.4'), want: ['spec.ip'] },
  { name: 'no spec at all', yaml: we(''), want: ['spec'] },
  { name: 'an empty spec', yaml: we('{}'), want: ['spec.address'] },
  { name: 'a unix socket path ending in a slash', yaml: we('address: unix:///dir/'), want: ['spec.address'] },
  {
    name: 'an abstract unix socket with ports',
    yaml: we('address: unix://@foo\nports: {http: 80}'),
    want: ['spec.ports'],
  },
  { name: 'a port name "@"', yaml: we('address: 1.1.1.1\nports: {"@": 80}'), want: ['spec.ports["@"]'] },
];

describe('validation: WorkloadEntry', () => {
  runCases(cases);
});
