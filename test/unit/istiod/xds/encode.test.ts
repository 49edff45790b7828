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

  it('a resource is encoded once and reused for every response', () => {
    assert.equal(encodeDeltaResource(ADDRESS_TYPE_URL, a), encodeDeltaResource(ADDRESS_TYPE_URL, a));
  });
});
