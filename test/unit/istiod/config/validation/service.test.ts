import assert from 'node:assert/strict';
import { runCases, type ValidationCase } from './table.js';

const svc = (spec: string, name = 'reviews'): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: demo}\nspec:\n  ${spec.replace(/\n/g, '\n  ')}\n`;

const serviceCases: ValidationCase[] = [
  {
    name: 'a ClusterIP service with defaults filled in',
    yaml: svc('selector: {app: reviews}\nports:\n- {port: 9080}'),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'Service');
      if (o.kind !== 'Service') return;
      assert.equal(o.spec.type, 'ClusterIP');
      assert.deepEqual(o.spec.ports, [{ protocol: 'TCP', port: 9080 }]);
      assert.deepEqual(o.spec.selector, { app: 'reviews' });
    },
  },
  {
    name: 'named ports with named and numeric target ports',
    yaml: svc(
      'clusterIP: 10.96.0.10\nports:\n- {name: http, port: 80, targetPort: web}\n- {name: dns, port: 53, protocol: UDP, targetPort: 5353, appProtocol: dns}',
    ),
    want: 'valid',
    check: (o) => {
      if (o.kind === 'Service')
        assert.deepEqual(o.spec.ports[0], { name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' });
    },
  },
  {
    name: 'a headless service without ports',
    yaml: svc('clusterIP: None\nselector: {app: a}'),
    want: 'valid',
  },
  {
    name: 'an ExternalName service',
    yaml: svc('type: ExternalName\nexternalName: db.example.com'),
    want: 'valid',
  },
  {
    name: 'a NodePort service',
    yaml: svc('type: NodePort\nports:\n- {port: 80, nodePort: 30080}'),
    want: 'valid',
  },
  {
    name: 'a dual-stack service',
    yaml: svc(
      'clusterIPs: ["10.96.0.5", "fd00::5"]\nipFamilies: [IPv4, IPv6]\nipFamilyPolicy: PreferDualStack\nports:\n- {port: 80}',
    ),
    want: 'valid',
  },
  {
    name: 'a name starting with a digit (DNS-1035)',
    yaml: svc('ports:\n- {port: 80}', '1reviews'),
    want: ['metadata.name'],
  },
  { name: 'no ports on a ClusterIP service', yaml: svc('selector: {app: a}'), want: ['spec.ports'] },
  { name: 'port 0', yaml: svc('ports:\n- {port: 0}'), want: ['spec.ports[0].port'] },
  { name: 'port 65536', yaml: svc('ports:\n- {port: 65536}'), want: ['spec.ports[0].port'] },
  { name: 'a port without a number', yaml: svc('ports:\n- {name: http}'), want: ['spec.ports[0].port'] },
  {
    name: 'an unknown protocol',
    yaml: svc('ports:\n- {port: 80, protocol: HTTP}'),
    want: ['spec.ports[0].protocol'],
  },
  {
    name: 'two ports without names',
    yaml: svc('ports:\n- {port: 80}\n- {port: 81}'),
    want: ['spec.ports[0].name', 'spec.ports[1].name'],
  },
  {
    name: 'a target port name with an underscore',
    yaml: svc('ports:\n- {port: 80, targetPort: http_web}'),
    want: ['spec.ports[0].targetPort'],
  },
  {
    name: 'a target port number out of range',
    yaml: svc('ports:\n- {port: 80, targetPort: 70000}'),
    want: ['spec.ports[0].targetPort'],
  },
  {
    name: 'a clusterIP that is not an IP',
    yaml: svc('clusterIP: 10.0.0.300\nports:\n- {port: 80}'),
    want: ['spec.clusterIP'],
  },
  { name: 'an unknown service type', yaml: svc('type: Internal\nports:\n- {port: 80}'), want: ['spec.type'] },
  {
    name: 'a nodePort on a ClusterIP service',
    yaml: svc('ports:\n- {port: 80, nodePort: 30000}'),
    want: ['spec.ports[0].nodePort'],
  },
  {
    name: 'an ExternalName service without externalName',
    yaml: svc('type: ExternalName'),
    want: ['spec.externalName'],
  },
  {
    name: 'duplicate port names',
    yaml: svc('ports:\n- {name: http, port: 80}\n- {name: http, port: 81}'),
    want: ['spec.ports[1].name'],
  },
  {
    name: 'a selector with an invalid value',
    yaml: svc('selector: {app: "a/b"}\nports:\n- {port: 80}'),
    want: ['spec.selector["app"]'],
  },
  { name: 'an unknown spec field', yaml: svc('port: 80\nports:\n- {port: 80}'), want: ['spec.port'] },
];

describe('validation: Service', () => {
  runCases(serviceCases);
});
