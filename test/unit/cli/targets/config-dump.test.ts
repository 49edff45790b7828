import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeConfigDump, readConfigDumpFile } from '../../../../src/cli/targets/config-dump.js';
import { TargetError } from '../../../../src/cli/targets/errors.js';

describe('cli/targets/config-dump', () => {
  it('an empty object is a dump with every section empty', () => {
    const d = decodeConfigDump('x', {});
    assert.deepEqual(
      [d.workloads, d.services, d.policies, d.certificates, d.connections, d.rawConnections].map(
        (s) => s.length,
      ),
      [0, 0, 0, 0, 0, 0],
    );
  });

  it('null sections count as absent', () => {
    assert.equal(
      decodeConfigDump('x', { workloads: null, connections: null, workloadState: null }).workloads.length,
      0,
    );
  });

  it('a section may be a list or a map (by value)', () => {
    const asList = decodeConfigDump('x', {
      policies: [{ name: 'a', namespace: 'n', action: 'Allow', scope: 'Global' }],
    });
    const asMap = decodeConfigDump('x', {
      policies: { 'n/a': { name: 'a', namespace: 'n', action: 'Allow', scope: 'Global' } },
    });
    assert.deepEqual(
      asList.policies.map(({ raw: _raw, ...p }) => p),
      asMap.policies.map(({ raw: _raw, ...p }) => p),
    );
  });

  const bad = [
    { name: 'a document that is a list', doc: [], pattern: /x: the config dump is not a JSON object/ },
    {
      name: 'a section that is a string',
      doc: { services: 'no' },
      pattern: /x: services is neither a list nor a map/,
    },
    {
      name: 'workloadState that is a list',
      doc: { workloadState: [] },
      pattern: /x: workloadState is not a map/,
    },
  ];
  for (const c of bad) {
    it(`${c.name} is TARGET_BAD_RESPONSE`, () => {
      assert.throws(
        () => decodeConfigDump('x', c.doc),
        (e: unknown) =>
          e instanceof TargetError && e.code === 'TARGET_BAD_RESPONSE' && c.pattern.test(e.message),
      );
    });
  }

  it('fields of the wrong type read as empty, and entries that are not objects are skipped', () => {
    const d = decodeConfigDump('x', {
      workloads: [{ name: 5, namespace: null, workloadIps: ['1.2.3.4', 7] }, 'junk'],
    });
    assert.equal(d.workloads.length, 1);
    assert.equal(d.workloads[0]?.name, '5');
    assert.equal(d.workloads[0]?.namespace, '');
    assert.deepEqual(d.workloads[0]?.workloadIps, ['1.2.3.4']);
  });

  it('waypoints read both forms: an address string and a {namespace, hostname} object', () => {
    const d = decodeConfigDump('x', {
      workloads: [
        { uid: 'a', waypoint: { destination: 'net/10.0.0.1' } },
        { uid: 'b', waypoint: { destination: { namespace: 'ns', hostname: 'wp.ns.svc.cluster.local' } } },
        { uid: 'c' },
      ],
    });
    assert.deepEqual(
      d.workloads.map((w) => w.waypoint),
      [
        { kind: 'address', address: 'net/10.0.0.1' },
        { kind: 'hostname', namespace: 'ns', hostname: 'wp.ns.svc.cluster.local' },
        undefined,
      ],
    );
  });

  it("the agent's connections list wins over workloadState, and its workload splits into namespace and name", () => {
    const d = decodeConfigDump('x', {
      connections: [
        {
          workload: 'ns/pod',
          direction: 'inbound',
          local: 'l',
          remote: 'r',
          remoteTarget: 't',
          protocol: 'TCP',
        },
      ],
      workloadState: {
        u: {
          info: { name: 'other', namespace: 'ns' },
          connections: { inbound: [{ src: 's' }], outbound: [] },
        },
      },
    });
    assert.deepEqual(d.connections, [
      {
        workloadName: 'pod',
        workloadNamespace: 'ns',
        direction: 'inbound',
        local: 'l',
        remote: 'r',
        target: 't',
        protocol: 'TCP',
      },
    ]);
  });

  it('reads a dump from a file, and names the file when it cannot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ambit-dump-'));
    try {
      const good = join(dir, 'dump.json');
      const broken = join(dir, 'broken.json');
      writeFileSync(good, JSON.stringify({ services: [{ name: 's' }] }));
      writeFileSync(broken, '{');
      assert.equal((await readConfigDumpFile(good)).services[0]?.name, 's');
      await assert.rejects(
        readConfigDumpFile(broken),
        (e: unknown) =>
          e instanceof TargetError && e.code === 'TARGET_BAD_RESPONSE' && e.message.includes(broken),
      );
      await assert.rejects(
        readConfigDumpFile(join(dir, 'none.json')),
        (e: unknown) => e instanceof TargetError && /cannot read .*none\.json/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
