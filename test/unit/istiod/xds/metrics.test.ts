import assert from 'node:assert/strict';
import { metricType, versionLabel } from '../../../../src/istiod/xds/metrics.js';

describe('xds metric labels', () => {
  const types = [
    { typeUrl: 'type.googleapis.com/istio.workload.Address', want: 'wds' },
    { typeUrl: 'type.googleapis.com/istio.workload.Workload', want: 'wds' },
    { typeUrl: 'type.googleapis.com/istio.security.Authorization', want: 'wads' },
    { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', want: 'other' },
  ];
  for (const c of types) {
    it(`${c.typeUrl}: type="${c.want}"`, () => assert.equal(metricType(c.typeUrl), c.want));
  }

  const versions = [
    { v: '1.24.0', want: '1.24.0' },
    { v: '1.25.0-alpha.0+build', want: '1.25.0-alpha.0+build' },
    { v: '', want: 'unknown' },
    { v: 'has space', want: 'unknown' },
    { v: 'x'.repeat(41), want: 'unknown' },
  ];
  for (const c of versions) {
    it(`version "${c.v.slice(0, 12)}": label "${c.want}"`, () => assert.equal(versionLabel(c.v), c.want));
  }
});
