import assert from 'node:assert/strict';
import { runCases, type ValidationCase } from './table.js';

const pod = (body: string, name = 'reviews-1'): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: demo, labels: {app: reviews}}\n${body}\n`;

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

describe('validation: Pod', () => {
  runCases(podCases);
});
