import assert from 'node:assert/strict';
import { runCases, type ValidationCase } from './table.js';

const svc = (spec: string, name = 'reviews'): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: demo}\nspec:\n  ${spec.replace(/\n/g, '\n  ')}\n`;
const pod = (body: string, name = 'reviews-1'): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: demo, labels: {app: reviews}}\n${body}\n`;

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

const podCases: ValidationCase[] = [
  {
    name: 'a running pod with IPs and ports',
    yaml: pod(`spec:
  nodeName: node-1
  serviceAccountName: bookinfo-reviews
  containers:
  - name: reviews
    image: reviews:v1
    ports:
    - {containerPort: 9080, name: http}
    - {containerPort: 9090, protocol: UDP}
    resources: {limits: {cpu: "1"}}
  volumes: [{name: tmp, emptyDir: {}}]
status:
  phase: Running
  podIP: 10.244.1.5
  podIPs: [{ip: 10.244.1.5}, {ip: "fd00::5"}]
  conditions: [{type: Ready, status: "True"}]`),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'Pod');
      if (o.kind !== 'Pod') return;
      assert.equal(o.spec.serviceAccountName, 'bookinfo-reviews');
      assert.deepEqual(o.spec.containers[0]?.ports, [
        { name: 'http', containerPort: 9080, protocol: 'TCP' },
        { containerPort: 9090, protocol: 'UDP' },
      ]);
      assert.equal(o.status?.podIP, '10.244.1.5');
    },
  },
  {
    name: 'a pending pod without status IPs',
    yaml: pod('spec:\n  containers:\n  - {name: app, image: x}\nstatus: {phase: Pending}'),
    want: 'valid',
  },
  { name: 'no containers', yaml: pod('spec:\n  containers: []'), want: ['spec.containers'] },
  { name: 'no spec', yaml: pod(''), want: ['spec'] },
  {
    name: 'a container without a name',
    yaml: pod('spec:\n  containers:\n  - image: x'),
    want: ['spec.containers[0].name'],
  },
  {
    name: 'duplicate container names',
    yaml: pod('spec:\n  containers:\n  - {name: app}\n  - {name: app}'),
    want: ['spec.containers[1].name'],
  },
  {
    name: 'a container port of 0',
    yaml: pod('spec:\n  containers:\n  - name: app\n    ports: [{containerPort: 0}]'),
    want: ['spec.containers[0].ports[0].containerPort'],
  },
  {
    name: 'a container port without a number',
    yaml: pod('spec:\n  containers:\n  - name: app\n    ports: [{name: http}]'),
    want: ['spec.containers[0].ports[0].containerPort'],
  },
  {
    name: 'a container port name longer than 15',
    yaml: pod(
      'spec:\n  containers:\n  - name: app\n    ports: [{containerPort: 80, name: http-very-long-name}]',
    ),
    want: ['spec.containers[0].ports[0].name'],
  },
  {
    name: 'an unknown container port protocol',
    yaml: pod('spec:\n  containers:\n  - name: app\n    ports: [{containerPort: 80, protocol: ICMP}]'),
    want: ['spec.containers[0].ports[0].protocol'],
  },
  {
    name: 'a podIP that is not an IP',
    yaml: pod('spec:\n  containers: [{name: app}]\nstatus: {podIP: 10.1.1}'),
    want: ['status.podIP'],
  },
  {
    name: 'a podIPs entry that is not an IP',
    yaml: pod('spec:\n  containers: [{name: app}]\nstatus: {podIPs: [{ip: "fd00::zz"}]}'),
    want: ['status.podIPs[0].ip'],
  },
  {
    name: 'an unknown phase',
    yaml: pod('spec:\n  containers: [{name: app}]\nstatus: {phase: Sleeping}'),
    want: ['status.phase'],
  },
  {
    name: 'an unknown container field',
    yaml: pod('spec:\n  containers:\n  - {name: app, imagee: x}'),
    want: ['spec.containers[0].imagee'],
  },
  {
    name: 'a service account name with upper case',
    yaml: pod('spec:\n  serviceAccountName: Reviews\n  containers: [{name: app}]'),
    want: ['spec.serviceAccountName'],
  },
  {
    name: 'a pod name with upper case',
    yaml: pod('spec:\n  containers: [{name: app}]', 'Reviews'),
    want: ['metadata.name'],
  },
];

const otherCases: ValidationCase[] = [
  {
    name: 'a namespace with the ambient label',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio.io/dataplane-mode: ambient}\n',
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'Namespace');
      assert.equal(o.metadata.namespace, '');
      assert.deepEqual(o.metadata.labels, { 'istio.io/dataplane-mode': 'ambient' });
    },
  },
  {
    name: 'a namespace name with a dot',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: book.info}\n',
    want: ['metadata.name'],
  },
  {
    name: 'a namespace with a namespace',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n',
    want: ['metadata.namespace'],
  },
  {
    name: 'a namespace with an unknown spec field',
    yaml: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nspec: {mode: ambient}\n',
    want: ['spec.mode'],
  },
  {
    name: 'a service account',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: bookinfo-reviews}\nautomountServiceAccountToken: false\n',
    want: 'valid',
    check: (o) => assert.equal(o.metadata.namespace, 'default'),
  },
  {
    name: 'a service account with a spec',
    yaml: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nspec: {}\n',
    want: ['spec'],
  },
  {
    name: 'a service account with apiVersion v2',
    yaml: 'apiVersion: v2\nkind: ServiceAccount\nmetadata: {name: a}\n',
    want: ['apiVersion'],
  },
];

describe('validation: Service', () => {
  runCases(serviceCases);
});
describe('validation: Pod', () => {
  runCases(podCases);
});
describe('validation: Namespace and ServiceAccount', () => {
  runCases(otherCases);
});
