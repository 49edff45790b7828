import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { AddressSchema } from '../../../../src/gen/istio/workload/workload_pb.js';
import { ConfigStore } from '../../../../src/istiod/config/store.js';
import { AmbientIndex, podUid } from '../../../../src/istiod/index/index.js';
import { ADDRESS_TYPE_URL } from '../../../../src/istiod/xds/index.js';
import { namespace, pod, service } from '../../../support/config-objects.js';
import { resourceNames } from '../../../support/xds-client.js';
import { startHarness, type Harness } from './harness.js';
import type { XdsResourceSource } from '../../../../src/istiod/xds/index.js';

describe('xds server over the ambient index', () => {
  let h: Harness<XdsResourceSource> | undefined;
  let index: AmbientIndex | undefined;

  afterEach(async () => {
    await h?.stop();
    index?.close();
    h = undefined;
    index = undefined;
  });

  it('serves the workloads and services derived from the config store, and pushes a pod change as one workload', async () => {
    const store = new ConfigStore();
    store.batch(() => {
      store.upsert(namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }));
      store.upsert(
        service({ name: 'cart', namespace: 'shop', selector: { app: 'cart' }, clusterIP: '10.96.0.10' }),
      );
      store.upsert(
        pod({ name: 'cart-1', namespace: 'shop', labels: { app: 'cart' }, ip: '10.1.0.5', node: 'n1' }),
      );
    });
    index = new AmbientIndex(store, {
      trustDomain: 'cluster.local',
      clusterId: 'Kubernetes',
      rootNamespace: 'istio-system',
      domainSuffix: 'cluster.local',
      network: '',
    });
    h = await startHarness({}, index);
    const c = h.delta();
    c.subscribe(ADDRESS_TYPE_URL);
    const resp = await c.next();
    const uid = podUid('Kubernetes', 'shop', 'cart-1');
    assert.deepEqual(resourceNames(resp), [uid, 'shop/cart.shop.svc.cluster.local'].sort());
    for (const r of resp.resources) {
      const address = fromBinary(AddressSchema, r.resource?.value ?? new Uint8Array());
      assert.ok(
        address.type.case === 'workload' || address.type.case === 'service',
        `${r.name} decodes as an Address`,
      );
    }
    c.ack(resp);

    const current = store.find('Pod', 'shop', 'cart-1');
    assert.ok(current !== undefined);
    store.upsert({
      ...current,
      metadata: { ...current.metadata, labels: { ...current.metadata.labels, version: 'v2' } },
    });
    const push = await c.next();
    assert.deepEqual(resourceNames(push), [uid]);
  });
});
