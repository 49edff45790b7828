import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import {
  DeltaDiscoveryResponseSchema,
  DiscoveryResponseSchema,
} from '../../../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import {
  encodeDeltaResource,
  encodeDeltaResponse,
  encodeSotwResponse,
} from '../../../../src/istiod/xds/encode.js';
import { ADDRESS_TYPE_URL, type XdsResource } from '../../../../src/istiod/xds/resource-source.js';

describe('xds response encoding', () => {
  const a: XdsResource = {
    name: 'Kubernetes//Pod/ns/a',
    version: 'v1',
    value: new Uint8Array([1, 2, 3]),
    aliases: ['/10.0.0.1', 'x'],
  };
  const b: XdsResource = { name: 'ns/svc.ns.svc.cluster.local', version: '', value: new Uint8Array() };

  it('a delta response decodes with Envoy schema to the same fields', () => {
    const bytes = encodeDeltaResponse({
      systemVersionInfo: '7',
      typeUrl: ADDRESS_TYPE_URL,
      nonce: 'n-1',
      resources: [a, b],
      removed: ['gone-1', 'gone-2'],
    });
    const m = fromBinary(DeltaDiscoveryResponseSchema, bytes);
    assert.equal(m.systemVersionInfo, '7');
    assert.equal(m.typeUrl, ADDRESS_TYPE_URL);
    assert.equal(m.nonce, 'n-1');
    assert.deepEqual(m.removedResources, ['gone-1', 'gone-2']);
    assert.deepEqual(
      m.resources.map((r) => ({
        name: r.name,
        version: r.version,
        aliases: r.aliases,
        t: r.resource?.typeUrl,
        v: [...(r.resource?.value ?? [])],
      })),
      [
        { name: a.name, version: 'v1', aliases: ['/10.0.0.1', 'x'], t: ADDRESS_TYPE_URL, v: [1, 2, 3] },
        { name: b.name, version: '', aliases: [], t: ADDRESS_TYPE_URL, v: [] },
      ],
    );
  });

  it('a SotW response decodes with Envoy schema to the same fields', () => {
    const m = fromBinary(
      DiscoveryResponseSchema,
      encodeSotwResponse({ versionInfo: 'abc', typeUrl: ADDRESS_TYPE_URL, nonce: 'n-2', resources: [a] }),
    );
    assert.equal(m.versionInfo, 'abc');
    assert.equal(m.nonce, 'n-2');
    assert.equal(m.resources.length, 1);
    assert.equal(m.resources[0]?.typeUrl, ADDRESS_TYPE_URL);
    assert.deepEqual([...(m.resources[0]?.value ?? [])], [1, 2, 3]);
  });

  it('a long list is encoded once as a block and still decodes per response (own nonce, same resources)', () => {
    const many: XdsResource[] = Array.from({ length: 300 }, (_, i) => ({
      name: `r${i}`,
      version: `v${i}`,
      value: new Uint8Array(200 + i).fill(i % 256),
    }));
    const one = fromBinary(
      DeltaDiscoveryResponseSchema,
      encodeDeltaResponse({
        systemVersionInfo: '1',
        typeUrl: ADDRESS_TYPE_URL,
        nonce: 'a',
        resources: many,
        removed: [],
      }),
    );
    const two = fromBinary(
      DeltaDiscoveryResponseSchema,
      encodeDeltaResponse({
        systemVersionInfo: '2',
        typeUrl: ADDRESS_TYPE_URL,
        nonce: 'b',
        resources: many,
        removed: ['x'],
      }),
    );
    assert.equal(one.nonce, 'a');
    assert.equal(two.nonce, 'b');
    assert.deepEqual(two.removedResources, ['x']);
    assert.deepEqual(
      two.resources.map((r) => [r.name, r.version, r.resource?.value.length]),
      many.map((r) => [r.name, r.version, r.value.length]),
    );
    const changed = [...many.slice(0, 299), { name: 'r299', version: 'new', value: new Uint8Array([9]) }];
    const three = fromBinary(
      DeltaDiscoveryResponseSchema,
      encodeDeltaResponse({
        systemVersionInfo: '3',
        typeUrl: ADDRESS_TYPE_URL,
        nonce: 'c',
        resources: changed,
        removed: [],
      }),
    );
    assert.equal(three.resources[299]?.version, 'new');
    assert.equal(one.resources.length, 300);
  });

  it('a resource is encoded once and reused for every response', () => {
    assert.equal(encodeDeltaResource(ADDRESS_TYPE_URL, a), encodeDeltaResource(ADDRESS_TYPE_URL, a));
  });
});
