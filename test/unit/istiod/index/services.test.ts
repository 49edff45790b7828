import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import {
  AppProtocol,
  IPFamilies,
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  ServiceSchema,
  WorkloadSchema,
  WorkloadStatus,
  WorkloadType,
} from '../../../../src/gen/istio/workload/workload_pb.js';
import { appProtocolForKubePort } from '../../../../src/istiod/index/services.js';
import { pod, service, serviceEntry, workloadEntry } from '../../../support/config-objects.js';
import { fixture, ip4 } from './fixture.js';

const v6 = (last: number) => new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);

describe('istiod/index/services', () => {
  it('a ClusterIP Service: hostname, VIP on the network, ports with target ports, canonical, no load balancing', () => {
    const { index } = fixture(
      [
        service({
          name: 'web',
          namespace: 'ns',
          clusterIP: '10.96.0.10',
          ports: [
            { port: 80, targetPort: 8080, name: 'http' },
            { port: 81, targetPort: 'named' },
            { port: 82 },
          ],
        }),
      ],
      { network: 'n1' },
    );
    assert.deepEqual(index.services(), [
      create(ServiceSchema, {
        name: 'web',
        namespace: 'ns',
        hostname: 'web.ns.svc.cluster.local',
        addresses: [{ network: 'n1', address: ip4('10.96.0.10') }],
        ports: [
          { servicePort: 80, targetPort: 8080, appProtocol: AppProtocol.HTTP11 },
          { servicePort: 81, targetPort: 0 },
          { servicePort: 82, targetPort: 82 },
        ],
        canonical: true,
      }),
    ]);
  });

  it('a headless Service has no addresses', () => {
    const { index } = fixture([service({ name: 'db', namespace: 'ns', clusterIP: 'None' })]);
    assert.deepEqual(index.services()[0]?.addresses, []);
  });

  it('a dual-stack Service carries both VIPs and DUAL', () => {
    const { index } = fixture([
      service({
        name: 'ds',
        namespace: 'ns',
        clusterIPs: ['10.96.0.11', 'fd00::11'],
        ipFamilies: ['IPv4', 'IPv6'],
      }),
    ]);
    const s = index.services()[0];
    assert.deepEqual(
      s?.addresses.map((a) => a.address),
      [ip4('10.96.0.11'), v6(0x11)],
    );
    assert.equal(s?.ipFamilies, IPFamilies.DUAL);
  });

  it('an ExternalName Service is not served', () => {
    const { index } = fixture([service({ name: 'ext', namespace: 'ns', type: 'ExternalName' })]);
    assert.deepEqual(index.services(), []);
  });

  describe('app protocol from Kubernetes ports', () => {
    const cases: { port: Parameters<typeof appProtocolForKubePort>[0]; want: AppProtocol }[] = [
      { port: { port: 80, protocol: 'TCP', name: 'http-web' }, want: AppProtocol.HTTP11 },
      { port: { port: 80, protocol: 'TCP', name: 'http2' }, want: AppProtocol.HTTP2 },
      { port: { port: 80, protocol: 'TCP', name: 'grpc' }, want: AppProtocol.GRPC },
      { port: { port: 80, protocol: 'TCP', name: 'grpc-web' }, want: AppProtocol.UNKNOWN },
      { port: { port: 443, protocol: 'TCP', name: 'https' }, want: AppProtocol.TLS },
      { port: { port: 80, protocol: 'TCP', name: 'web', appProtocol: 'tcp' }, want: AppProtocol.TCP },
      { port: { port: 80, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }, want: AppProtocol.HTTP2 },
      { port: { port: 3306, protocol: 'TCP' }, want: AppProtocol.TCP },
      { port: { port: 8080, protocol: 'TCP', name: 'web' }, want: AppProtocol.UNKNOWN },
      { port: { port: 53, protocol: 'UDP', name: 'dns' }, want: AppProtocol.UNKNOWN },
    ];
    for (const c of cases) {
      it(`${JSON.stringify(c.port)}: ${AppProtocol[c.want]}`, () => {
        assert.equal(appProtocolForKubePort(c.port), c.want);
      });
    }
  });

  describe('ServiceEntry', () => {
    it('gives one service per host, CIDR addresses with a length, target ports defaulting to the port, passthrough when resolution is NONE', () => {
      const { index } = fixture([
        serviceEntry(
          { name: 'ext', namespace: 'ns' },
          {
            hosts: ['a.example.com', 'b.example.com'],
            addresses: ['240.0.0.1', '240.1.0.5/16'],
            ports: [
              { number: 443, name: 'tls', protocol: 'TLS' },
              { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 },
            ],
            subjectAltNames: ['spiffe://ext/sa'],
          },
        ),
      ]);
      const common = {
        name: 'ext',
        namespace: 'ns',
        addresses: [{ address: ip4('240.0.0.1') }, { address: ip4('240.1.0.0'), length: 16 }],
        ports: [
          { servicePort: 443, targetPort: 443, appProtocol: AppProtocol.TLS },
          { servicePort: 80, targetPort: 8080, appProtocol: AppProtocol.HTTP11 },
        ],
        subjectAltNames: ['spiffe://ext/sa'],
        loadBalancing: {
          mode: LoadBalancing_Mode.PASSTHROUGH,
          healthPolicy: LoadBalancing_HealthPolicy.ALLOW_ALL,
        },
        canonical: true,
      };
      assert.deepEqual(index.services(), [
        create(ServiceSchema, { ...common, hostname: 'a.example.com' }),
        create(ServiceSchema, { ...common, hostname: 'b.example.com' }),
      ]);
    });

    it('inline endpoints become workloads named after the ServiceEntry, endpoints of every host', () => {
      const { index } = fixture([
        serviceEntry(
          { name: 'se', namespace: 'ns', labels: { app: 'ext' } },
          {
            hosts: ['se.example.com'],
            ports: [{ number: 80, name: 'http' }],
            resolution: 'STATIC',
            endpoints: [
              { address: '10.9.0.1', ports: { http: 8080 }, serviceAccount: 'ext-sa' },
              { address: '10.9.0.2' },
            ],
          },
        ),
      ]);
      const common = {
        name: 'se',
        namespace: 'ns',
        canonicalName: 'ext',
        canonicalRevision: 'latest',
        workloadType: WorkloadType.POD,
        workloadName: 'se',
        status: WorkloadStatus.HEALTHY,
        clusterId: 'Kubernetes',
      };
      assert.deepEqual(index.workloads(), [
        create(WorkloadSchema, {
          ...common,
          uid: 'Kubernetes/networking.istio.io/ServiceEntry/ns/se/10.9.0.1',
          addresses: [ip4('10.9.0.1')],
          serviceAccount: 'ext-sa',
          services: { 'ns/se.example.com': { ports: [{ servicePort: 80, targetPort: 8080 }] } },
        }),
        create(WorkloadSchema, {
          ...common,
          uid: 'Kubernetes/networking.istio.io/ServiceEntry/ns/se/10.9.0.2',
          addresses: [ip4('10.9.0.2')],
          services: { 'ns/se.example.com': { ports: [{ servicePort: 80, targetPort: 80 }] } },
        }),
      ]);
      assert.equal(index.services()[0]?.loadBalancing, undefined);
    });

    it('a DNS ServiceEntry without endpoints gets one hostname workload per host', () => {
      const { index } = fixture([
        serviceEntry(
          { name: 'dns', namespace: 'ns' },
          {
            hosts: ['x.example.com', 'y.example.com'],
            ports: [{ number: 443, name: 'tls' }],
            resolution: 'DNS',
          },
        ),
      ]);
      assert.deepEqual(
        index.workloads().map((w) => [w.uid, w.hostname, Object.keys(w.services)]),
        [
          [
            'Kubernetes/networking.istio.io/ServiceEntry/ns/dns/x.example.com',
            'x.example.com',
            ['ns/x.example.com'],
          ],
          [
            'Kubernetes/networking.istio.io/ServiceEntry/ns/dns/y.example.com',
            'y.example.com',
            ['ns/y.example.com'],
          ],
        ],
      );
    });

    it('a workloadSelector selects pods and WorkloadEntries of its namespace', () => {
      const { index } = fixture([
        serviceEntry(
          { name: 'sel', namespace: 'ns' },
          {
            hosts: ['sel.internal'],
            ports: [{ number: 80, name: 'http' }],
            workloadSelector: { labels: { app: 'a' } },
            resolution: 'STATIC',
          },
        ),
        pod({ name: 'p1', namespace: 'ns', labels: { app: 'a' }, ip: '10.0.0.1' }),
        pod({ name: 'p2', namespace: 'other', labels: { app: 'a' }, ip: '10.0.0.2' }),
        workloadEntry({ name: 'we', namespace: 'ns', labels: { app: 'a' } }, { address: '10.0.0.3' }),
      ]);
      assert.deepEqual(
        index.workloads().map((w) => [w.uid, Object.keys(w.services)]),
        [
          ['Kubernetes//Pod/ns/p1', ['ns/sel.internal']],
          ['Kubernetes//Pod/other/p2', []],
          ['Kubernetes/networking.istio.io/WorkloadEntry/ns/we', ['ns/sel.internal']],
        ],
      );
    });

    it('a Kubernetes Service wins its name over a ServiceEntry declaring the same host; the oldest ServiceEntry wins among them', () => {
      const host = 'web.ns.svc.cluster.local';
      const { index, store } = fixture([
        serviceEntry(
          { name: 'new', namespace: 'ns', creationTimestamp: '2024-02-01T00:00:00Z' },
          { hosts: [host], ports: [{ number: 1, name: 'a' }] },
        ),
        serviceEntry(
          { name: 'old', namespace: 'ns', creationTimestamp: '2024-01-01T00:00:00Z' },
          { hosts: [host], ports: [{ number: 2, name: 'b' }] },
        ),
      ]);
      assert.deepEqual(
        index.services().map((s) => [s.name, s.canonical]),
        [['old', true]],
      );
      store.upsert(service({ name: 'web', namespace: 'ns' }));
      assert.deepEqual(
        index.services().map((s) => [s.name, s.canonical]),
        [['web', true]],
      );
      store.delete('Service', 'ns', 'web');
      store.delete('ServiceEntry', 'ns', 'old');
      assert.deepEqual(
        index.services().map((s) => [s.name, s.canonical]),
        [['new', true]],
      );
    });

    it('the same host in two namespaces: both served, only the oldest canonical unless a Kubernetes Service has it', () => {
      const { index } = fixture([
        serviceEntry(
          { name: 'a', namespace: 'ns1', creationTimestamp: '2024-01-01T00:00:00Z' },
          { hosts: ['shared.example.com'] },
        ),
        serviceEntry(
          { name: 'b', namespace: 'ns2', creationTimestamp: '2024-03-01T00:00:00Z' },
          { hosts: ['shared.example.com'] },
        ),
      ]);
      assert.deepEqual(
        index.services().map((s) => [s.namespace, s.canonical]),
        [
          ['ns1', true],
          ['ns2', false],
        ],
      );
    });
  });
});
