import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  NetworkMode,
  PortListSchema,
  TunnelProtocol,
  WorkloadSchema,
  WorkloadStatus,
  WorkloadType,
  type Workload,
} from '../../../../src/gen/istio/workload/workload_pb.js';
import type { AnyConfigObject } from '../../../../src/istiod/config/types.js';
import {
  namespace,
  pod,
  service,
  serviceEntry,
  workloadEntry,
  type PodInit,
} from '../../../support/config-objects.js';
import { fixture, ip4 } from './fixture.js';

type WorkloadInit = MessageInitShape<typeof WorkloadSchema>;

/** The workload Istio builds for a plain running, ready pod "name" in "ns" at 1.2.3.4. */
function base(over: WorkloadInit = {}): Workload {
  return create(WorkloadSchema, {
    uid: 'Kubernetes//Pod/ns/name',
    name: 'name',
    namespace: 'ns',
    addresses: [ip4('1.2.3.4')],
    serviceAccount: 'default',
    canonicalName: 'name',
    canonicalRevision: 'latest',
    workloadType: WorkloadType.POD,
    workloadName: 'name',
    status: WorkloadStatus.HEALTHY,
    clusterId: 'Kubernetes',
    ...over,
  });
}

const p = (over: Partial<PodInit> = {}) => pod({ name: 'name', namespace: 'ns', ip: '1.2.3.4', ...over });

function only(objects: AnyConfigObject[], options = {}): Workload | undefined {
  const all = fixture(objects, options).index.workloads();
  assert.ok(all.length <= 1, `expected at most one workload, got ${all.length}`);
  return all[0];
}

describe('istiod/index/workloads', () => {
  describe('pod lifecycle and health (Istio: Ready condition decides, terminal pods and pods without IP get none)', () => {
    const cases: { name: string; pod: AnyConfigObject; want: Workload | undefined }[] = [
      {
        name: 'pending pod without an IP',
        pod: p({ ip: '', phase: 'Pending', ready: false }),
        want: undefined,
      },
      {
        name: 'pending pod with an IP',
        pod: p({ phase: 'Pending', ready: false }),
        want: base({ status: WorkloadStatus.UNHEALTHY }),
      },
      {
        name: 'running pod, not ready',
        pod: p({ ready: false }),
        want: base({ status: WorkloadStatus.UNHEALTHY }),
      },
      { name: 'running ready pod', pod: p(), want: base() },
      { name: 'succeeded pod', pod: p({ phase: 'Succeeded' }), want: undefined },
      { name: 'failed pod', pod: p({ phase: 'Failed' }), want: undefined },
      { name: 'pod with an unparsable IP', pod: p({ ip: '1.2.3' }), want: undefined },
      {
        name: 'dual-stack pod',
        pod: p({ ips: ['1.2.3.4', 'fd00::1'] }),
        want: base({
          addresses: [ip4('1.2.3.4'), new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
        }),
      },
      {
        name: 'node and service account',
        pod: p({ node: 'node-1', serviceAccount: 'sa1' }),
        want: base({ node: 'node-1', serviceAccount: 'sa1' }),
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.want === undefined ? 'no workload' : WorkloadStatus[c.want.status]}`, () => {
        assert.deepEqual(only([c.pod]), c.want);
      });
    }
  });

  describe('canonical name and revision, workload name and type', () => {
    const cases: { name: string; pod: PodInit; want: WorkloadInit }[] = [
      { name: 'app label', pod: { name: 'name', labels: { app: 'foo' } }, want: { canonicalName: 'foo' } },
      {
        name: 'app.kubernetes.io labels win over app/version',
        pod: {
          name: 'name',
          labels: {
            app: 'foo',
            'app.kubernetes.io/name': 'bar',
            version: 'v1',
            'app.kubernetes.io/version': 'v2',
          },
        },
        want: { canonicalName: 'bar', canonicalRevision: 'v2' },
      },
      {
        name: 'service.istio.io canonical labels win',
        pod: {
          name: 'name',
          labels: {
            app: 'foo',
            'service.istio.io/canonical-name': 'canon',
            'service.istio.io/canonical-revision': 'rev',
            version: 'v1',
          },
        },
        want: { canonicalName: 'canon', canonicalRevision: 'rev' },
      },
      {
        name: 'ReplicaSet pod of a Deployment',
        pod: { name: 'web-5d8f7c9b4-x7k2p', labels: { 'pod-template-hash': '5d8f7c9b4' } },
        want: {
          uid: 'Kubernetes//Pod/ns/web-5d8f7c9b4-x7k2p',
          name: 'web-5d8f7c9b4-x7k2p',
          workloadName: 'web',
          workloadType: WorkloadType.DEPLOYMENT,
          canonicalName: 'web',
        },
      },
      {
        name: 'Job pod',
        pod: { name: 'migrate-abcde', labels: { 'job-name': 'migrate' } },
        want: {
          uid: 'Kubernetes//Pod/ns/migrate-abcde',
          name: 'migrate-abcde',
          workloadName: 'migrate',
          workloadType: WorkloadType.JOB,
          canonicalName: 'migrate',
        },
      },
      {
        name: 'CronJob pod',
        pod: { name: 'backup-28912345-abcde', labels: { 'batch.kubernetes.io/job-name': 'backup-28912345' } },
        want: {
          uid: 'Kubernetes//Pod/ns/backup-28912345-abcde',
          name: 'backup-28912345-abcde',
          workloadName: 'backup',
          workloadType: WorkloadType.CRONJOB,
          canonicalName: 'backup',
        },
      },
      {
        name: 'workload-name label override',
        pod: { name: 'name', labels: { 'service.istio.io/workload-name': 'custom' } },
        want: { workloadName: 'custom', canonicalName: 'custom' },
      },
    ];
    for (const c of cases) {
      it(`${c.name}`, () => {
        const w = only([p(c.pod)]);
        assert.deepEqual(w, base(c.want));
      });
    }
  });

  describe('tunnel protocol follows ambient enrollment', () => {
    const amb = { 'istio.io/dataplane-mode': 'ambient' };
    const cases: {
      name: string;
      ns: Record<string, string>;
      pod: Partial<PodInit>;
      tunnel: TunnelProtocol;
      native?: boolean;
      mode?: NetworkMode;
    }[] = [
      { name: 'namespace labelled ambient', ns: amb, pod: {}, tunnel: TunnelProtocol.HBONE },
      {
        name: 'pod labelled ambient in a plain namespace',
        ns: {},
        pod: { labels: amb },
        tunnel: TunnelProtocol.HBONE,
      },
      {
        name: 'pod labelled none in an ambient namespace',
        ns: amb,
        pod: { labels: { 'istio.io/dataplane-mode': 'none' } },
        tunnel: TunnelProtocol.NONE,
      },
      { name: 'plain namespace and pod', ns: {}, pod: {}, tunnel: TunnelProtocol.NONE },
      {
        name: 'host-network pod in an ambient namespace',
        ns: amb,
        pod: { hostNetwork: true },
        tunnel: TunnelProtocol.NONE,
        mode: NetworkMode.HOST_NETWORK,
      },
      {
        name: 'sidecar-injected pod in an ambient namespace',
        ns: amb,
        pod: { annotations: { 'sidecar.istio.io/status': '{}' } },
        tunnel: TunnelProtocol.NONE,
      },
      {
        name: 'redirection annotation set by the CNI',
        ns: {},
        pod: { annotations: { 'ambient.istio.io/redirection': 'enabled' } },
        tunnel: TunnelProtocol.HBONE,
      },
      {
        name: 'native tunnel label',
        ns: {},
        pod: { labels: { 'networking.istio.io/tunnel': 'http' } },
        tunnel: TunnelProtocol.HBONE,
        native: true,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${TunnelProtocol[c.tunnel]}`, () => {
        const w = only([namespace('ns', c.ns), p(c.pod)]);
        assert.equal(w?.tunnelProtocol, c.tunnel);
        assert.equal(w?.nativeTunnel, c.native ?? false);
        assert.equal(w?.networkMode, c.mode ?? NetworkMode.STANDARD);
      });
    }
  });

  it('sets trust_domain only when it is not cluster.local, and network and cluster id from the options', () => {
    assert.deepEqual(
      only([p()], { trustDomain: 'example.org', network: 'net1', clusterId: 'c1' }),
      base({ uid: 'c1//Pod/ns/name', trustDomain: 'example.org', network: 'net1', clusterId: 'c1' }),
    );
  });

  describe('services map', () => {
    it('lists ports of every selecting Service, resolving named target ports against TCP container ports', () => {
      const w = only([
        p({
          labels: { app: 'foo' },
          containerPorts: [
            { name: '81-target', containerPort: 9090 },
            { name: 'udp-target', containerPort: 5353, protocol: 'UDP' },
          ],
        }),
        service({
          name: 'svc',
          namespace: 'ns',
          selector: { app: 'foo' },
          ports: [
            { port: 80, targetPort: 8080, name: 'a' },
            { port: 81, targetPort: '81-target', name: 'b' },
            { port: 82, targetPort: '82-target', name: 'c' },
            { port: 83, targetPort: 'udp-target', name: 'd' },
            { port: 84, name: 'e' },
          ],
        }),
        service({ name: 'other', namespace: 'ns', selector: { app: 'bar' } }),
        service({ name: 'elsewhere', namespace: 'ns2', selector: { app: 'foo' } }),
        service({ name: 'selectorless', namespace: 'ns' }),
      ]);
      assert.deepEqual(
        w,
        base({
          canonicalName: 'foo',
          services: {
            'ns/svc.ns.svc.cluster.local': {
              ports: [
                { servicePort: 80, targetPort: 8080 },
                { servicePort: 81, targetPort: 9090 },
                { servicePort: 84, targetPort: 84 },
              ],
            },
          },
        }),
      );
    });

    it('a pod selected by a ServiceEntry maps its ports by name to container ports', () => {
      const w = only([
        p({ labels: { app: 'httpbin' }, containerPorts: [{ name: 'http', containerPort: 8000 }] }),
        serviceEntry(
          { name: 'httpbin', namespace: 'ns' },
          {
            hosts: ['httpbin.ns.mesh.internal'],
            ports: [
              { number: 8002, name: 'http' },
              { number: 8003, name: 'other' },
            ],
            workloadSelector: { labels: { app: 'httpbin' } },
            resolution: 'STATIC',
          },
        ),
      ]);
      assert.deepEqual(w?.services, {
        'ns/httpbin.ns.mesh.internal': create(PortListSchema, {
          ports: [
            { servicePort: 8002, targetPort: 8000 },
            { servicePort: 8003, targetPort: 8003 },
          ],
        }),
      });
    });
  });

  describe('WorkloadEntry', () => {
    it('becomes a workload with its address, network, service account, locality, weight and selecting services', () => {
      const all = fixture([
        workloadEntry(
          {
            name: 'vm1',
            namespace: 'ns',
            labels: { app: 'vm' },
            annotations: { 'ambient.istio.io/redirection': 'enabled' },
          },
          {
            address: '10.1.0.5',
            network: 'vmnet',
            serviceAccount: 'vm-sa',
            ports: { web: 9080 },
            labels: { version: 'v3' },
            locality: 'r1/z1',
            weight: 7,
          },
        ),
        service({
          name: 'vm',
          namespace: 'ns',
          selector: { app: 'vm', version: 'v3' },
          ports: [
            { port: 80, targetPort: 'web', name: 'http' },
            { port: 81, targetPort: 'missing', name: 'x' },
          ],
        }),
      ]).index.workloads();
      assert.deepEqual(all, [
        create(WorkloadSchema, {
          uid: 'Kubernetes/networking.istio.io/WorkloadEntry/ns/vm1',
          name: 'vm1',
          namespace: 'ns',
          addresses: [ip4('10.1.0.5')],
          network: 'vmnet',
          tunnelProtocol: TunnelProtocol.HBONE,
          serviceAccount: 'vm-sa',
          canonicalName: 'vm',
          canonicalRevision: 'v3',
          workloadType: WorkloadType.POD,
          workloadName: 'vm1',
          services: { 'ns/vm.ns.svc.cluster.local': { ports: [{ servicePort: 80, targetPort: 9080 }] } },
          status: WorkloadStatus.HEALTHY,
          clusterId: 'Kubernetes',
          locality: { region: 'r1', zone: 'z1', subzone: '' },
          capacity: 7,
        }),
      ]);
    });

    it('merges spec and metadata labels (metadata wins) and takes its name from the auto-registration group', () => {
      const w = fixture([
        workloadEntry(
          {
            name: 'vm-1',
            namespace: 'ns',
            labels: { app: 'meta' },
            annotations: { 'istio.io/autoRegistrationGroup': 'vm-group' },
          },
          { address: '10.1.0.6', labels: { app: 'spec', version: 'v9' } },
        ),
      ]).index.workloads()[0];
      assert.deepEqual([w?.canonicalName, w?.canonicalRevision, w?.workloadName], ['meta', 'v9', 'vm-group']);
    });

    it('with a DNS name for an address gets a hostname instead of addresses', () => {
      const w = fixture([
        workloadEntry({ name: 'vm2', namespace: 'ns' }, { address: 'vm2.example.com' }),
      ]).index.workloads()[0];
      assert.equal(w?.hostname, 'vm2.example.com');
      assert.deepEqual(w?.addresses, []);
      assert.equal(w?.tunnelProtocol, TunnelProtocol.NONE);
    });
  });
});
