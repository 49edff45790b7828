import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderSection } from '../../../../src/cli/commands/ztunnel-config.js';
import { decodeConfigDump, type ConfigDump } from '../../../../src/cli/targets/config-dump.js';

const FIXTURES = new URL('../../../fixtures/config-dump/', import.meta.url);

function fixture(name: string): ConfigDump {
  return decodeConfigDump(name, JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown);
}

describe('cli/commands/ztunnel-config', () => {
  describe('-o json and -o yaml', () => {
    const d = fixture('agent.json');

    it('json prints the served entries of the section, filtered and in table order', () => {
      const out = JSON.parse(renderSection('workloads', d, 'json', { workloadNamespace: 'shop' })) as {
        uid: string;
        canonicalRevision: string;
      }[];
      assert.deepEqual(
        out.map((w) => w.uid),
        ['Kubernetes//Pod/shop/cart-1', 'Kubernetes//Pod/shop/web-1', 'Kubernetes//Pod/shop/web-2'],
      );
      assert.equal(out[0]?.canonicalRevision, 'v1');
    });

    it('yaml carries the same data as json', () => {
      for (const section of ['workloads', 'services', 'policies', 'certificates', 'connections', 'all']) {
        assert.deepEqual(
          parse(renderSection(section, d, 'yaml')),
          JSON.parse(renderSection(section, d, 'json')),
          section,
        );
      }
    });

    it('all prints the whole dump as served', () => {
      assert.deepEqual(
        JSON.parse(renderSection('all', d, 'json')),
        JSON.parse(readFileSync(new URL('agent.json', FIXTURES), 'utf8')),
      );
    });

    it('connections filters the served entries by namespace and direction', () => {
      const out = JSON.parse(
        renderSection('connections', d, 'json', { workloadNamespace: 'shop', direction: 'inbound' }),
      ) as { workload: string }[];
      assert.deepEqual(
        out.map((c) => c.workload),
        ['shop/cart-1', 'shop/web-1'],
      );
    });

    it('connections of a ztunnel-shaped dump print the workloadState entries', () => {
      const out = JSON.parse(renderSection('connections', fixture('ztunnel.json'), 'json')) as {
        info: { name: string };
      }[];
      assert.deepEqual(out.map((c) => c.info.name).sort(), ['api-7d9f', 'client-5c4b']);
    });
  });

  it('table output of a section is its table', () => {
    const d = fixture('agent.json');
    assert.ok(renderSection('policies', d, 'table').startsWith('NAMESPACE    POLICY NAME ACTION SCOPE\n'));
  });

  it('an unknown section is a programming error', () => {
    assert.throws(() => renderSection('nope', fixture('agent.json'), 'json'), /unknown section nope/);
  });
});
