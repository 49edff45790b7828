/**
 * grpc-js service definitions built from the protobuf-es descriptors, so
 * that servers and clients share the method paths (Envoy's and Istio's) and
 * the typed (de)serializers.
 */
import type { ServiceDefinition, MethodDefinition } from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { AggregatedDiscoveryService } from '../../gen/envoy/service/discovery/v3/ads_pb.js';
import { IstioCertificateService } from '../../gen/istio/v1/auth/ca_pb.js';

function method<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m: MessageShape<O>) => Buffer.from(toBinary(output, m)),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  };
}

function definitionOf<T extends GenServiceMethods>(service: GenService<T>): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    const streaming = m.methodKind;
    def[m.localName] = method(
      `/${service.typeName}/${m.name}`,
      m.input,
      m.output,
      streaming === 'client_streaming' || streaming === 'bidi_streaming',
      streaming === 'server_streaming' || streaming === 'bidi_streaming',
    ) as MethodDefinition<unknown, unknown>;
  }
  return def as ServiceDefinition;
}

/** `envoy.service.discovery.v3.AggregatedDiscoveryService` (SotW and delta ADS). */
export const adsServiceDefinition = definitionOf(AggregatedDiscoveryService);

/** `istio.v1.auth.IstioCertificateService`. */
export const caServiceDefinition = definitionOf(IstioCertificateService);

export { create };
