import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ServiceSchema, WorkloadSchema } from '../../../../src/gen/istio/workload/workload_pb.js';
import { decodeWorkload } from '../../../../src/ztunnel/xds/index.js';
import {
  ResponseFlag,
  TRAFFIC_LABEL_NAMES,
  trafficLabels,
  type ConnectionContext,
  type WorkloadDescriptor,
} from '../../../../src/ztunnel/telemetry/index.js';

const client: WorkloadDescriptor = {
  name: 'sleep-7f8d9c-abcde',
  namespace: 'apps',
  workloadName: 'sleep',
  canonicalName: 'sleep',
  canonicalRevision: 'v1',
  clusterId: 'Kubernetes',
  identity: { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'sleep' },
};

const server: WorkloadDescriptor = {
  name: 'httpbin-5c4d-xyz12',
  namespace: 'web',
  workloadName: 'httpbin',
  canonicalName: 'httpbin',
  canonicalRevision: 'v2',
  clusterId: 'Kubernetes',
  identity: { trustDomain: 'example.org', namespace: 'web', serviceAccount: 'httpbin' },
};

const service = { hostname: 'httpbin.web.svc.cluster.local', name: 'httpbin', namespace: 'web' };
const clientId = { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'sleep' };

describe('traffic labels', () => {
  it('lists the 23 labels in the order ztunnel encodes them', () => {
    assert.deepEqual(TRAFFIC_LABEL_NAMES, [
      'reporter',
      'source_workload',
      'source_canonical_service',
      'source_canonical_revision',
      'source_workload_namespace',
      'source_principal',
      'source_app',
      'source_version',
      'source_cluster',
      'destination_service',
      'destination_service_namespace',
      'destination_service_name',
      'destination_workload',
      'destination_canonical_service',
      'destination_canonical_revision',
      'destination_workload_namespace',
      'destination_principal',
      'destination_app',
      'destination_version',
      'destination_cluster',
      'request_protocol',
      'response_flags',
      'connection_security_policy',
    ]);
  });

  it('returns the labels as an object whose keys follow that order', () => {
    const labels = trafficLabels({ reporter: 'source', connectionSecurityPolicy: 'unknown' });
    assert.deepEqual(Object.keys(labels), TRAFFIC_LABEL_NAMES);
  });

  it('resolves an inbound HBONE connection between known workloads to a service', () => {
    const labels = trafficLabels({
      reporter: 'destination',
      source: client,
      destination: server,
      destinationService: service,
      peerIdentity: clientId,
      connectionSecurityPolicy: 'mutual_tls',
    });
    assert.deepEqual(labels, {
      reporter: 'destination',
      source_workload: 'sleep',
      source_canonical_service: 'sleep',
      source_canonical_revision: 'v1',
      source_workload_namespace: 'apps',
      source_principal: 'spiffe://cluster.local/ns/apps/sa/sleep',
      source_app: 'sleep',
      source_version: 'v1',
      source_cluster: 'Kubernetes',
      destination_service: 'httpbin.web.svc.cluster.local',
      destination_service_namespace: 'web',
      destination_service_name: 'httpbin',
      destination_workload: 'httpbin',
      destination_canonical_service: 'httpbin',
      destination_canonical_revision: 'v2',
      destination_workload_namespace: 'web',
      destination_principal: 'spiffe://example.org/ns/web/sa/httpbin',
      destination_app: 'httpbin',
      destination_version: 'v2',
      destination_cluster: 'Kubernetes',
      request_protocol: 'tcp',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
    });
  });

  it('fills every label of an unknown source, destination and service with unknown', () => {
    const labels = trafficLabels({ reporter: 'destination', connectionSecurityPolicy: 'unknown' });
    for (const name of TRAFFIC_LABEL_NAMES) {
      if (['reporter', 'request_protocol', 'response_flags', 'connection_security_policy'].includes(name))
        continue;
      assert.equal(labels[name], 'unknown', name);
    }
    assert.equal(labels.reporter, 'destination');
    assert.equal(labels.request_protocol, 'tcp');
    assert.equal(labels.response_flags, '-');
    assert.equal(labels.connection_security_policy, 'unknown');
  });

  it('treats empty strings as unknown', () => {
    const labels = trafficLabels({
      reporter: 'source',
      source: { ...client, canonicalRevision: '', clusterId: '' },
      destinationService: { hostname: 'example.com', name: '', namespace: '' },
      connectionSecurityPolicy: 'unknown',
    });
    assert.equal(labels.source_canonical_revision, 'unknown');
    assert.equal(labels.source_version, 'unknown');
    assert.equal(labels.source_cluster, 'unknown');
    assert.equal(labels.destination_service, 'example.com');
    assert.equal(labels.destination_service_name, 'unknown');
    assert.equal(labels.destination_service_namespace, 'unknown');
  });

  const principalCases: { name: string; ctx: ConnectionContext; source: string; destination: string }[] = [
    {
      name: 'inbound mTLS: source is the verified peer, destination the local workload',
      ctx: {
        reporter: 'destination',
        source: client,
        destination: server,
        peerIdentity: clientId,
        connectionSecurityPolicy: 'mutual_tls',
      },
      source: 'spiffe://cluster.local/ns/apps/sa/sleep',
      destination: 'spiffe://example.org/ns/web/sa/httpbin',
    },
    {
      name: 'inbound mTLS from an unknown workload: source still the verified peer',
      ctx: {
        reporter: 'destination',
        destination: server,
        peerIdentity: clientId,
        connectionSecurityPolicy: 'mutual_tls',
      },
      source: 'spiffe://cluster.local/ns/apps/sa/sleep',
      destination: 'spiffe://example.org/ns/web/sa/httpbin',
    },
    {
      name: 'inbound plaintext: a known source workload gives no principal',
      ctx: {
        reporter: 'destination',
        source: client,
        destination: server,
        connectionSecurityPolicy: 'unknown',
      },
      source: 'unknown',
      destination: 'spiffe://example.org/ns/web/sa/httpbin',
    },
    {
      name: 'outbound HBONE: source is our own workload identity',
      ctx: {
        reporter: 'source',
        source: client,
        destination: server,
        connectionSecurityPolicy: 'mutual_tls',
      },
      source: 'spiffe://cluster.local/ns/apps/sa/sleep',
      destination: 'spiffe://example.org/ns/web/sa/httpbin',
    },
    {
      name: 'outbound HBONE to an unknown workload: destination is the server certificate',
      ctx: {
        reporter: 'source',
        source: client,
        peerIdentity: { trustDomain: 'td', namespace: 'x', serviceAccount: 'y' },
        connectionSecurityPolicy: 'mutual_tls',
      },
      source: 'spiffe://cluster.local/ns/apps/sa/sleep',
      destination: 'spiffe://td/ns/x/sa/y',
    },
    {
      name: 'outbound passthrough: no source principal, destination unknown',
      ctx: { reporter: 'source', source: client, connectionSecurityPolicy: 'unknown' },
      source: 'unknown',
      destination: 'unknown',
    },
  ];
  for (const c of principalCases) {
    it(`${c.name}`, () => {
      const labels = trafficLabels(c.ctx);
      assert.equal(labels.source_principal, c.source);
      assert.equal(labels.destination_principal, c.destination);
    });
  }

  it('names no destination principal for a pod whose identity is unknown', () => {
    const labels = trafficLabels({ reporter: 'destination', destination: { ...server, identity: undefined }, connectionSecurityPolicy: 'unknown' });
    assert.equal(labels.destination_principal, 'unknown');
  });

  it("takes the store's Workload and the Service message as descriptors unchanged", () => {
    const w = decodeWorkload(create(WorkloadSchema, {
      uid: 'Kubernetes//Pod/web/echo-0',
      name: 'echo-0',
      namespace: 'web',
      workloadName: 'echo',
      canonicalName: 'echo',
      canonicalRevision: 'v2',
      clusterId: 'Kubernetes',
      serviceAccount: 'echo',
    }));
    const svc = create(ServiceSchema, {
      name: 'echo',
      namespace: 'web',
      hostname: 'echo.web.svc.cluster.local',
    });
    const labels = trafficLabels({
      reporter: 'source',
      destination: w,
      destinationService: svc,
      connectionSecurityPolicy: 'unknown',
    });
    assert.equal(labels.destination_workload, 'echo');
    assert.equal(labels.destination_principal, 'spiffe://cluster.local/ns/web/sa/echo');
    assert.equal(labels.destination_service, 'echo.web.svc.cluster.local');
  });

  it('puts the given response flag in response_flags', () => {
    const labels = trafficLabels(
      { reporter: 'source', connectionSecurityPolicy: 'unknown' },
      ResponseFlag.Deny,
    );
    assert.equal(labels.response_flags, 'DENY');
  });

  it('names the response flags as Istio does', () => {
    assert.deepEqual(Object.values(ResponseFlag), [
      '-',
      'DENY',
      'CONNECT',
      'TLS_FAILURE',
      'H2_HANDSHAKE_FAILURE',
      'NETWORK_POLICY',
      'IDENTITY_ERROR',
    ]);
  });
});
