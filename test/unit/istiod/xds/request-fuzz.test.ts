/**
 * Property-based fuzzing (fast-check) of the xDS request handling: arbitrary
 * sequences of DeltaDiscoveryRequest / DiscoveryRequest (unknown type URLs,
 * garbage and stale nonces, huge and duplicate resource names, bogus
 * initial_resource_versions, error_detail, missing or malformed nodes),
 * interleaved with source changes and client half-closes, go through the
 * server's own stream handlers (the ones registered on gRPC) on an
 * in-memory stream. Nothing may throw out of a handler; a stream either
 * stays open or ends with INVALID_ARGUMENT / PERMISSION_DENIED and a
 * message (never INTERNAL); every response decodes and is of a served type;
 * the server forgets every stream once it is gone and still serves a
 * well-formed client afterwards.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
} from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WORKLOAD_TYPE_URL,
  XdsServer,
  type XdsCaller,
  type XdsTransport,
} from '../../../../src/istiod/xds/index.js';
import { XdsError } from '../../../../src/istiod/xds/errors.js';
import { InMemoryResourceSource } from '../../../support/resource-source.js';

/** Runs per property; the report states them. */
export const XDS_FUZZ_RUNS = { delta: 400, sotw: 400, tls: 300 } as const;

const SERVED = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL];
const ALLOWED_END_CODES = new Set([grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.PERMISSION_DENIED]);
const NAMES = ['Kubernetes//Pod/demo/a', 'Kubernetes//Pod/demo/b', 'demo/svc.demo.svc.cluster.local', '/10.0.0.1', 'demo/allow'];
/** A node as a fuzzed request carries it (metadata values of any JSON type). */
interface FuzzNode {
  readonly id: string;
  readonly metadata: Record<string, string | number | boolean | null>;
}
const GOOD_NODE: FuzzNode = { id: 'ztunnel~10.0.0.1~ztunnel-1.istio-system~istio-system.svc.cluster.local', metadata: { NODE_NAME: 'node-a' } };

interface StatusSeen {
  readonly code: number;
  readonly details: string;
}

/** The server side of one ADS stream as grpc-js hands it to a handler, in memory. */
class MemoryStream extends EventEmitter {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  destroyed = false;
  status: StatusSeen | undefined;
  readonly responses: Uint8Array[] = [];
  /** The last nonce sent per type, so a fuzzed request can answer it. */
  readonly lastNonce = new Map<string, string>();

  constructor(private readonly protocol: 'delta' | 'sotw') {
    super();
    // grpc-js turns an 'error' emitted on the call into the stream's status.
    this.on('error', (s: { code?: number; details?: string }) => {
      this.status ??= { code: s.code ?? -1, details: s.details ?? '' };
    });
  }

  getPeer(): string {
    return 'memory:fuzz';
  }

  getAuthContext(): Record<string, never> {
    return {};
  }

  write(bytes: Uint8Array, cb?: () => void): boolean {
    this.responses.push(bytes);
    const r =
      this.protocol === 'delta' ? fromBinary(DeltaDiscoveryResponseSchema, bytes) : fromBinary(DiscoveryResponseSchema, bytes);
    assert.ok(SERVED.includes(r.typeUrl), `response of unserved type ${r.typeUrl}`);
    assert.notEqual(r.nonce, '', 'a response without nonce');
    this.lastNonce.set(r.typeUrl, r.nonce);
    if (cb !== undefined) setImmediate(cb);
    return true;
  }

  end(): void {
    this.status ??= { code: grpc.status.OK, details: '' };
    setImmediate(() => this.emit('close'));
  }

  destroy(): void {
    this.destroyed = true;
    setImmediate(() => this.emit('close'));
  }

  /** The client went away. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
    this.emit('close');
  }
}

/** Captures the handlers XdsServer registers, as a gRPC server would. */
function handlersOf(server: XdsServer, transport: XdsTransport): { delta: (s: MemoryStream) => void; sotw: (s: MemoryStream) => void } {
  const found: Record<string, (s: MemoryStream) => void> = {};
  const fake = {
    addService(definition: grpc.ServiceDefinition, impl: Record<string, (s: MemoryStream) => void>) {
      for (const [key, method] of Object.entries(definition)) {
        const h = impl[key];
        if (h !== undefined) found[method.path.endsWith('/DeltaAggregatedResources') ? 'delta' : 'sotw'] = h;
      }
    },
  };
  server.addToServer(fake as unknown as grpc.Server, transport);
  assert.ok(found['delta'] && found['sotw'], 'both ADS methods are registered');
  return { delta: found['delta'], sotw: found['sotw'] };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- arbitraries ----

const typeUrl = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SERVED) },
  { weight: 2, arbitrary: fc.constantFrom(WORKLOAD_TYPE_URL, 'type.googleapis.com/envoy.config.cluster.v3.Cluster', '', 'type.googleapis.com/') },
  { weight: 1, arbitrary: fc.string() },
);
const huge = fc.integer({ min: 1000, max: 200_000 }).map((n) => 'n'.repeat(n));
const resourceName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 2, arbitrary: fc.constant('*') },
  { weight: 2, arbitrary: fc.string() },
  { weight: 1, arbitrary: huge },
);
/** Duplicates are likely: names come from small pools. */
const names = fc.array(resourceName, { maxLength: 8 });
const nonce = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constant('<last>') },
  { weight: 2, arbitrary: fc.string() },
  { weight: 1, arbitrary: huge },
);
const metadataValue = fc.oneof(fc.string(), fc.constant(null), fc.double(), fc.boolean(), fc.constant('node-a'));
const node: fc.Arbitrary<FuzzNode | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(GOOD_NODE) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.record({
      id: fc.oneof(fc.string(), fc.constantFrom('', '~~~', 'a~b~c~d', 'ztunnel~~x~y', 'ztunnel~1.1.1.1~~d', GOOD_NODE.id), huge),
      metadata: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('NODE_NAME', 'CLUSTER_ID', 'ISTIO_VERSION', 'SERVICE_ACCOUNT')), metadataValue, { maxKeys: 4 }),
    }),
  },
);
const errorDetail = fc.option(fc.record({ code: fc.integer(), message: fc.oneof(fc.string(), huge) }), { freq: 4 });

type Action =
  | { readonly kind: 'request'; readonly typeUrl: string; readonly node: FuzzNode | undefined; readonly subscribe: string[]; readonly unsubscribe: string[]; readonly nonce: string; readonly initial: Record<string, string>; readonly versionInfo: string; readonly errorDetail: { code: number; message: string } | null }
  | { readonly kind: 'change'; readonly typeUrl: string; readonly name: string; readonly remove: boolean }
  | { readonly kind: 'half-close' }
  | { readonly kind: 'garbage'; readonly value: unknown };

const request: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant('request' as const),
  typeUrl,
  node,
  subscribe: names,
  unsubscribe: names,
  nonce,
  initial: fc.dictionary(resourceName, fc.oneof(fc.string(), huge), { maxKeys: 5 }),
  versionInfo: fc.oneof(fc.string(), fc.constant('<last>')),
  errorDetail,
});
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: request },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('change' as const), typeUrl: fc.constantFrom(...SERVED), name: fc.constantFrom(...NAMES), remove: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'half-close' as const }) },
);
/** The first request usually carries the node (as a real client's), so later requests reach the subscriptions. */
const sequence = fc.tuple(request, fc.array(action, { maxLength: 14 })).map(([first, rest]) => [first, ...rest]);

function toMessage(protocol: 'delta' | 'sotw', a: Extract<Action, { kind: 'request' }>, stream: MemoryStream): unknown {
  const lastNonce = stream.lastNonce.get(a.typeUrl) ?? '';
  const responseNonce = a.nonce === '<last>' ? lastNonce : a.nonce;
  const errorDetailInit = a.errorDetail === null ? {} : { errorDetail: { code: a.errorDetail.code | 0, message: a.errorDetail.message } };
  if (protocol === 'delta') {
    return create(DeltaDiscoveryRequestSchema, {
      typeUrl: a.typeUrl,
      ...(a.node === undefined ? {} : { node: a.node }),
      resourceNamesSubscribe: a.subscribe,
      resourceNamesUnsubscribe: a.unsubscribe,
      initialResourceVersions: a.initial,
      responseNonce,
      ...errorDetailInit,
    });
  }
  return create(DiscoveryRequestSchema, {
    typeUrl: a.typeUrl,
    ...(a.node === undefined ? {} : { node: a.node }),
    resourceNames: a.subscribe,
    versionInfo: a.versionInfo === '<last>' ? '' : a.versionInfo,
    responseNonce,
    ...errorDetailInit,
  });
}

async function runSequence(
  server: XdsServer,
  source: InMemoryResourceSource,
  handler: (s: MemoryStream) => void,
  protocol: 'delta' | 'sotw',
  actions: readonly Action[],
): Promise<MemoryStream> {
  const stream = new MemoryStream(protocol);
  handler(stream);
  await turn();
  for (const a of actions) {
    if (stream.status !== undefined) break;
    switch (a.kind) {
      case 'request':
        stream.emit('data', toMessage(protocol, a, stream));
        break;
      case 'change':
        if (a.remove) source.delete(a.typeUrl, a.name);
        else source.set(a.typeUrl, a.name, `v-${Math.random()}`);
        server.flush();
        break;
      case 'half-close':
        stream.emit('end');
        break;
      case 'garbage':
        stream.emit('data', a.value);
        break;
    }
    await turn();
    await turn();
  }
  return stream;
}

function checkEnd(stream: MemoryStream, first: Action): void {
  const s = stream.status;
  if (s === undefined) return;
  assert.ok(ALLOWED_END_CODES.has(s.code), `stream ended with ${grpc.status[s.code] ?? s.code}: ${s.details}`);
  if (s.code !== grpc.status.OK) assert.ok(s.details.length > 0, 'an error status without a message');
  if (first.kind === 'request' && first.node === undefined && stream.responses.length === 0) {
    assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
    assert.match(s.details, /node/);
  }
}

async function settle(server: XdsServer, stream: MemoryStream): Promise<void> {
  stream.cancel();
  for (let i = 0; i < 20 && server.connectionCount > 0; i++) await turn();
  assert.equal(server.connectionCount, 0, 'the server still holds a stream that is gone');
}

function newServer(authenticate?: () => Promise<XdsCaller>): { server: XdsServer; source: InMemoryResourceSource } {
  const source = new InMemoryResourceSource();
  for (const n of NAMES) source.set(ADDRESS_TYPE_URL, n, `addr-${n}`, [`alias-${n}`]);
  source.set(AUTHORIZATION_TYPE_URL, 'demo/allow', 'policy');
  const server = new XdsServer({
    source,
    registry: new Registry(),
    debounceMs: 0,
    sendTimeoutMs: 0,
    ...(authenticate === undefined ? {} : { authenticator: { authenticate } }),
  });
  return { server, source };
}

/** A well-formed client is still served in full after the fuzzing. */
async function stillServes(handler: (s: MemoryStream) => void, protocol: 'delta' | 'sotw'): Promise<void> {
  const stream = new MemoryStream(protocol);
  handler(stream);
  await turn();
  stream.emit(
    'data',
    protocol === 'delta'
      ? create(DeltaDiscoveryRequestSchema, { typeUrl: ADDRESS_TYPE_URL, node: GOOD_NODE })
      : create(DiscoveryRequestSchema, { typeUrl: ADDRESS_TYPE_URL, node: GOOD_NODE }),
  );
  for (let i = 0; i < 20 && stream.responses.length === 0; i++) await turn();
  assert.equal(stream.responses.length, 1, 'no response to a well-formed request after the fuzzing');
  stream.cancel();
}

describe('xds request handling: property-based fuzzing (fast-check)', function () {
  this.timeout(300_000);

  for (const protocol of ['delta', 'sotw'] as const) {
    it(`${protocol}: arbitrary request sequences never throw, end only with a clear status, and leave the server serving (${XDS_FUZZ_RUNS[protocol]} runs)`, async () => {
      const { server, source } = newServer();
      const handlers = handlersOf(server, 'plaintext');
      try {
        await fc.assert(
          fc.asyncProperty(sequence, async (actions) => {
            const stream = await runSequence(server, source, handlers[protocol], protocol, actions);
            checkEnd(stream, actions[0] as Action);
            await settle(server, stream);
          }),
          { numRuns: XDS_FUZZ_RUNS[protocol], seed: protocol === 'delta' ? 15012 : 15010 },
        );
        await stillServes(handlers[protocol], protocol);
      } finally {
        await server.close(100);
      }
    });
  }

  it(`tls: any caller (or an authenticator that refuses, fails or throws) with arbitrary requests ends with a clear status only (${XDS_FUZZ_RUNS.tls} runs)`, async () => {
    let next: () => Promise<XdsCaller> = () => Promise.resolve({ kind: 'local' });
    const { server, source } = newServer(() => next());
    const handlers = handlersOf(server, 'tls');
    const outcome = fc.constantFrom<() => Promise<XdsCaller>>(
      () => Promise.resolve({ kind: 'node-agent', node: 'node-a' }),
      () => Promise.resolve({ kind: 'node-agent', node: 'node-b' }),
      () => Promise.resolve({ kind: 'workload', identity: { trustDomain: 'cluster.local', namespace: 'istio-system', serviceAccount: 'ztunnel' }, uri: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel' }),
      () => Promise.reject(new XdsError('XDS_UNAUTHENTICATED', 'authentication failure: fuzz')),
      () => Promise.reject(new XdsError('XDS_AUTH_UNAVAILABLE', 'reviewer down')),
      () => Promise.reject(new TypeError('a bug in an authenticator')),
    );
    const allowed = new Set([...ALLOWED_END_CODES, grpc.status.UNAUTHENTICATED, grpc.status.UNAVAILABLE]);
    try {
      await fc.assert(
        fc.asyncProperty(outcome, sequence, fc.constantFrom('delta' as const, 'sotw' as const), async (auth, actions, protocol) => {
          next = auth;
          const stream = await runSequence(server, source, handlers[protocol], protocol, actions);
          const s = stream.status;
          if (s !== undefined) {
            assert.ok(allowed.has(s.code), `stream ended with ${grpc.status[s.code] ?? s.code}: ${s.details}`);
            if (s.code !== grpc.status.OK) assert.ok(s.details.length > 0);
          }
          await settle(server, stream);
        }),
        { numRuns: XDS_FUZZ_RUNS.tls, seed: 9 },
      );
      next = () => Promise.resolve({ kind: 'node-agent', node: 'node-a' });
      await stillServes(handlers.delta, 'delta');
    } finally {
      await server.close(100);
    }
  });
});
