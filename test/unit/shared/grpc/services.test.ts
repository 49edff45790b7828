import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { adsServiceDefinition, caServiceDefinition } from '../../../../src/shared/grpc/services.js';
import { DeltaDiscoveryRequestSchema } from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';

describe('shared/grpc/services', () => {
  it('uses the method paths Envoy and Istio use', () => {
    assert.equal(
      adsServiceDefinition.deltaAggregatedResources?.path,
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
    );
    assert.equal(
      adsServiceDefinition.streamAggregatedResources?.path,
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    );
    assert.equal(caServiceDefinition.createCertificate?.path, '/istio.v1.auth.IstioCertificateService/CreateCertificate');
    assert.equal(adsServiceDefinition.deltaAggregatedResources?.requestStream, true);
    assert.equal(caServiceDefinition.createCertificate?.responseStream, false);
  });

  it('encodes a delta request with Envoy field numbers (type_url = 2, response_nonce = 6)', () => {
    const bytes = toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { typeUrl: 'a', responseNonce: 'n' }));
    // field 2, wire type 2 => tag 0x12; field 6, wire type 2 => tag 0x32
    assert.deepEqual([...bytes], [0x12, 1, 0x61, 0x32, 1, 0x6e]);
  });
});
