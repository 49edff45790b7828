/**
 * A scripted delta ADS server that records every request it gets, for
 * checking exactly what the agent sends (node, initial_resource_versions,
 * ACK/NACK) across reconnects. Each stream's first request of a type is
 * answered with the resources `respond` returns for it.
 */
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { adsServiceDefinition } from '../../../../src/shared/grpc/services.js';
import {
  DeltaDiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';

export interface RecordedRequest {
  /** 1 for the first stream, 2 for the next... */
  readonly stream: number;
  readonly request: DeltaDiscoveryRequest;
  readonly metadata: grpc.Metadata;
}

export type Responder = (typeUrl: string, stream: number) => Omit<DeltaDiscoveryResponse, '$typeName' | 'typeUrl' | 'nonce'> | undefined;

export class RecordingAds {
  readonly requests: RecordedRequest[] = [];
  private server: grpc.Server | undefined;
  private streams = 0;
  private nonce = 0;
  private readonly calls = new Set<grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>>();
  port = 0;

  constructor(private readonly respond: Responder) {}

  async listen(port = 0): Promise<number> {
    const server = new grpc.Server();
    server.addService(adsServiceDefinition, {
      streamAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
      deltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
        const stream = ++this.streams;
        const seen = new Set<string>();
        this.calls.add(call);
        call.on('data', (request: DeltaDiscoveryRequest) => {
          this.requests.push({ stream, request, metadata: call.metadata });
          if (seen.has(request.typeUrl)) return;
          seen.add(request.typeUrl);
          const body = this.respond(request.typeUrl, stream);
          if (body !== undefined) this.send(call, request.typeUrl, body);
        });
        call.on('error', () => undefined);
        call.on('end', () => call.end());
        call.on('close', () => this.calls.delete(call));
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err === null ? resolve(p) : reject(err),
      ),
    );
    this.server = server;
    return this.port;
  }

  /** Sends a response on every open stream. */
  push(typeUrl: string, body: Omit<DeltaDiscoveryResponse, '$typeName' | 'typeUrl' | 'nonce'>): void {
    for (const call of this.calls) this.send(call, typeUrl, body);
  }

  private send(
    call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>,
    typeUrl: string,
    body: Omit<DeltaDiscoveryResponse, '$typeName' | 'typeUrl' | 'nonce'>,
  ): void {
    call.write(create(DeltaDiscoveryResponseSchema, { ...body, typeUrl, nonce: `n${++this.nonce}` }));
  }

  /** Requests of one stream and type, in order. */
  of(stream: number, typeUrl: string): DeltaDiscoveryRequest[] {
    return this.requests.filter((r) => r.stream === stream && r.request.typeUrl === typeUrl).map((r) => r.request);
  }

  get streamCount(): number {
    return this.streams;
  }

  /** Drops every stream and the listener at once. */
  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.calls.clear();
  }
}
