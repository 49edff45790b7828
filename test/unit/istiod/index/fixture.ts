import { ConfigStore } from '../../../../src/istiod/config/store.js';
import type { AnyConfigObject } from '../../../../src/istiod/config/types.js';
import { AmbientIndex, type AmbientIndexOptions } from '../../../../src/istiod/index/index.js';
import type { ResourceChange } from '../../../../src/istiod/xds/resource-source.js';

export const OPTIONS: AmbientIndexOptions = {
  trustDomain: 'cluster.local',
  clusterId: 'Kubernetes',
  rootNamespace: 'istio-system',
  domainSuffix: 'cluster.local',
  network: '',
};

export interface Fixture {
  readonly store: ConfigStore;
  readonly index: AmbientIndex;
  /** Every onChange call since the fixture was built (or last cleared). */
  readonly changes: (readonly ResourceChange[])[];
}

/** A store holding `objects` and an index built over it, recording change notifications. */
export function fixture(
  objects: readonly AnyConfigObject[],
  options: Partial<AmbientIndexOptions> = {},
): Fixture {
  const store = new ConfigStore();
  for (const o of objects) store.upsert(o);
  const index = new AmbientIndex(store, { ...OPTIONS, ...options });
  const changes: (readonly ResourceChange[])[] = [];
  index.onChange((c) => changes.push(c));
  return { store, index, changes };
}

export const ip4 = (s: string): Uint8Array => new Uint8Array(s.split('.').map(Number));
