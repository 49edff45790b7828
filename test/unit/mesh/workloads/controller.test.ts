import assert from 'node:assert/strict';
import { MeshError } from '../../../../src/mesh/state.js';
import { parseLabelChange, type LabelChange } from '../../../../src/mesh/workloads/controller.js';

describe('mesh workloads: controller', () => {
  describe('parseLabelChange', () => {
    const accepted: { arg: string; want: LabelChange }[] = [
      {
        arg: 'istio.io/dataplane-mode=ambient',
        want: { kind: 'set', key: 'istio.io/dataplane-mode', value: 'ambient' },
      },
      { arg: 'k=', want: { kind: 'set', key: 'k', value: '' } },
      { arg: 'k=a=b', want: { kind: 'set', key: 'k', value: 'a=b' } },
      { arg: 'k=v-', want: { kind: 'set', key: 'k', value: 'v-' } },
      { arg: 'istio.io/dataplane-mode-', want: { kind: 'remove', key: 'istio.io/dataplane-mode' } },
    ];
    for (const c of accepted) {
      it(`${JSON.stringify(c.arg)}: ${c.want.kind} ${c.want.key}`, () => {
        assert.deepEqual(parseLabelChange(c.arg), c.want);
      });
    }

    for (const arg of ['=v', 'k', '', '-']) {
      it(`${JSON.stringify(arg)}: refused with MESH_BAD_OPTION`, () => {
        assert.throws(
          () => parseLabelChange(arg),
          (e: unknown) =>
            e instanceof MeshError && e.code === 'MESH_BAD_OPTION' && e.message.includes(`"${arg}"`),
        );
      });
    }
  });
});
