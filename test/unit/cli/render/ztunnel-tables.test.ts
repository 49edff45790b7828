import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  addressNamer,
  allTables,
  certificateTable,
  certValid,
  connectionTable,
  endpointSummary,
  policyTable,
  serialHex,
  serviceTable,
  waypointName,
  workloadTable,
} from '../../../../src/cli/render/ztunnel-tables.js';
import { X509Certificate } from 'node:crypto';
import { decodeConfigDump, type ConfigDump } from '../../../../src/cli/targets/config-dump.js';
import { createTestPki } from '../../../support/ca.js';

const FIXTURES = new URL('../../../fixtures/config-dump/', import.meta.url);

function fixture(name: string): ConfigDump {
  return decodeConfigDump(name, JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown);
}

function golden(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

function dump(doc: Record<string, unknown>): ConfigDump {
  return decodeConfigDump('test', doc);
}

/** The lines of a table, without the final newline. */
function lines(table: string): string[] {
  return table.trimEnd().split('\n');
}

/** The value of `column` in each row, by the header's column start offsets. */
function column(table: string, name: string): string[] {
  const [header = '', ...rows] = lines(table);
  const start = header.indexOf(name);
  assert.ok(start >= 0, `no column ${name} in ${header}`);
  return rows.map((r) => r.slice(start).split(' ')[0] ?? '');
}

const NOW = new Date('2026-06-01T00:00:00Z');

describe('cli/render/ztunnel-tables', () => {
  describe('golden output', () => {
    it('all sections of an agent dump, with the section lines, match agent-all.txt', () => {
      assert.equal(
        allTables(fixture('agent.json'), { withHeaders: true, now: NOW }),
        golden('agent-all.txt'),
      );
    });

    it('all sections of a ztunnel-shaped dump (maps, workloadState, legacy chain), without section lines, match ztunnel-all.txt', () => {
      assert.equal(
        allTables(fixture('ztunnel.json'), { withHeaders: false, now: NOW }),
        golden('ztunnel-all.txt'),
      );
    });

    it('the policy table of istioctl policies golden data is the same bytes', () => {
      assert.equal(
        policyTable(fixture('ztunnel.json')),
        'NAMESPACE POLICY NAME    ACTION SCOPE\ndefault   allow-nothing  Allow  Namespace\ndefault   allow-waypoint Allow  WorkloadSelector\n',
      );
    });
  });

  describe('headers', () => {
    const empty = dump({});
    const cases = [
      {
        name: 'workloads',
        table: workloadTable(empty),
        want: 'NAMESPACE POD NAME ADDRESS NODE WAYPOINT PROTOCOL',
      },
      {
        name: 'services',
        table: serviceTable(empty),
        want: 'NAMESPACE SERVICE NAME SERVICE VIP WAYPOINT ENDPOINTS',
      },
      { name: 'policies', table: policyTable(empty), want: 'NAMESPACE POLICY NAME ACTION SCOPE' },
      {
        name: 'certificates',
        table: certificateTable(empty),
        want: 'CERTIFICATE NAME     TYPE     STATUS     VALID CERT     SERIAL NUMBER     NOT AFTER     NOT BEFORE',
      },
      {
        name: 'connections',
        table: connectionTable(empty),
        want: 'WORKLOAD DIRECTION LOCAL REMOTE REMOTE TARGET PROTOCOL',
      },
    ];
    for (const c of cases) {
      it(`${c.name}: a dump without the section prints only istioctl's header`, () => {
        assert.equal(c.table, `${c.want}\n`);
      });
    }

    it('all: five tables, each after a blank line and its ------ <NAME> INFO ------ line', () => {
      const out = allTables(dump({}), { withHeaders: true });
      const titles = out.split('\n').filter((l) => l.startsWith('------'));
      assert.deepEqual(titles, [
        '------ WORKLOAD INFO ------',
        '------ SERVICE INFO ------',
        '------ POLICY INFO ------',
        '------ SECRET INFO ------',
        '------ CONNECTIONS INFO ------',
      ]);
      assert.ok(out.startsWith('\n------ WORKLOAD INFO ------\n\nNAMESPACE POD NAME'));
    });
  });

  describe('workloads', () => {
    const d = fixture('agent.json');

    it('sorts by "<namespace>.<name>", then node', () => {
      const t = workloadTable(
        dump({
          workloads: [
            { uid: '1', name: 'b', namespace: 'x', node: 'n2' },
            { uid: '2', name: 'b', namespace: 'x', node: 'n1' },
            { uid: '3', name: 'a', namespace: 'y', node: 'n0' },
            { uid: '4', name: 'z', namespace: 'a', node: 'n9' },
          ],
        }),
      );
      assert.deepEqual(column(t, 'POD NAME'), ['z', 'b', 'b', 'a']);
      assert.deepEqual(column(t, 'NODE'), ['n9', 'n1', 'n2', 'n0']);
    });

    it('ADDRESS joins every workload IP with commas, and falls back to the hostname', () => {
      assert.deepEqual(column(workloadTable(d), 'ADDRESS'), [
        'fd00::5',
        'vm.example.com',
        '10.10.2.7',
        '10.10.1.5,fd00::5',
        '10.10.2.8',
      ]);
    });

    const waypoints = [
      { name: 'no waypoint', ref: undefined, want: 'None' },
      {
        name: 'an address that is a service VIP',
        ref: { kind: 'address', address: '/10.96.0.99' } as const,
        want: 'shop-waypoint',
      },
      {
        name: 'a namespace and hostname',
        ref: {
          kind: 'hostname',
          namespace: 'shop',
          hostname: 'shop-waypoint.shop.svc.cluster.local',
        } as const,
        want: 'shop-waypoint',
      },
      {
        name: 'an address no service has',
        ref: { kind: 'address', address: '/10.200.0.1' } as const,
        want: 'NA',
      },
      {
        name: 'a hostname no service has',
        ref: { kind: 'hostname', namespace: 'shop', hostname: 'gone' } as const,
        want: 'NA',
      },
    ];
    for (const c of waypoints) {
      it(`WAYPOINT for ${c.name}: ${c.want}`, () => {
        assert.equal(waypointName(c.ref, d.services), c.want);
      });
    }

    const filters = [
      { name: 'namespace (case-insensitive)', f: { namespace: 'SHOP' }, want: ['cart-1', 'web-1', 'web-2'] },
      { name: 'node', f: { node: 'node-a' }, want: ['job-1', 'web-1'] },
      { name: 'address (any of the IPs)', f: { address: 'fd00::5' }, want: ['job-1', 'web-1'] },
      { name: 'namespace and node', f: { namespace: 'shop', node: 'node-b' }, want: ['cart-1', 'web-2'] },
      { name: 'nothing matches', f: { namespace: 'none' }, want: [] },
    ];
    for (const c of filters) {
      it(`filters by ${c.name}`, () => {
        assert.deepEqual(column(workloadTable(d, c.f), 'POD NAME'), c.want);
      });
    }
  });

  describe('services', () => {
    const d = fixture('agent.json');

    it('sorts by namespace, name, hostname and drops the network from each VIP', () => {
      const t = serviceTable(d);
      assert.deepEqual(column(t, 'SERVICE NAME'), ['external', 'cart', 'shop-waypoint', 'web']);
      assert.equal(lines(t)[4]?.includes('10.96.0.10,fd00:96::10'), true);
    });

    it('ENDPOINTS counts endpoints whose workload is known and Healthy, over all endpoints', () => {
      const byUid = new Map(d.workloads.map((w) => [w.uid, w] as const));
      const summary = Object.fromEntries(d.services.map((s) => [s.name, endpointSummary(s, byUid)]));
      // web: web-1 Healthy, web-2 Unhealthy. cart: cart-1 Healthy, one endpoint of an unknown workload.
      assert.deepEqual(summary, { web: '1/2', cart: '1/2', 'shop-waypoint': '0/0', external: '0/0' });
    });

    it('filters by namespace', () => {
      assert.deepEqual(column(serviceTable(d, { namespace: 'batch' }), 'SERVICE NAME'), ['external']);
    });
  });

  describe('policies', () => {
    it('sorts by namespace then name and shows action and scope as served', () => {
      const t = policyTable(fixture('agent.json'));
      assert.deepEqual(column(t, 'POLICY NAME'), ['mesh-wide', 'allow-web', 'deny-batch']);
      assert.deepEqual(column(t, 'SCOPE'), ['Global', 'WorkloadSelector', 'Namespace']);
      assert.deepEqual(column(t, 'ACTION'), ['Allow', 'Allow', 'Deny']);
    });

    it('filters by namespace', () => {
      assert.deepEqual(
        column(policyTable(fixture('agent.json'), { namespace: 'istio-system' }), 'POLICY NAME'),
        ['mesh-wide'],
      );
    });
  });

  describe('certificates', () => {
    const serials = [
      { decimal: '255', want: 'ff' },
      { decimal: '0', want: '0' },
      { decimal: '340282366920938463463374607431768211455', want: 'ffffffffffffffffffffffffffffffff' },
      { decimal: '', want: 'NA' },
      { decimal: 'not-a-number', want: 'not-a-number' },
    ];
    for (const c of serials) {
      it(`serial ${JSON.stringify(c.decimal)} prints as ${c.want}`, () => {
        assert.equal(serialHex(c.decimal), c.want);
      });
    }

    const validity = [
      { name: 'inside the window', from: '2020-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z', want: true },
      { name: 'expired', from: '2020-01-01T00:00:00Z', to: '2021-01-01T00:00:00Z', want: false },
      { name: 'not yet valid', from: '2027-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z', want: false },
      { name: 'dates missing', from: '', to: '', want: false },
      { name: 'unreadable date', from: 'yesterday', to: '2030-01-01T00:00:00Z', want: false },
    ];
    for (const c of validity) {
      it(`VALID CERT ${c.name}: ${c.want}`, () => {
        assert.equal(certValid({ serialNumber: '1', validFrom: c.from, expirationTime: c.to }, NOW), c.want);
      });
    }

    it('types the chain Leaf, Intermediate..., then each root cert Root; an identity without certs prints NA', () => {
      const t = certificateTable(fixture('agent.json'), NOW);
      assert.deepEqual(column(t, 'TYPE'), ['Leaf', 'Intermediate', 'Root', 'NA', 'NA']);
      assert.deepEqual(column(t, 'VALID CERT'), ['true', 'false', 'true', 'false', 'false']);
      assert.deepEqual(column(t, 'NOT AFTER'), [
        '2999-01-01T00:00:00Z',
        '2021-01-01T00:00:00Z',
        '2999-01-01T00:00:00Z',
        'NA',
        'NA',
      ]);
    });

    it("reads serial and dates from PEM text, as ambit's agent lists its chain and roots", () => {
      const pki = createTestPki({ intermediate: true });
      const cred = pki.issueWorkload('spiffe://cluster.local/ns/shop/sa/web');
      const pems =
        cred.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
      assert.equal(pems.length, 2);
      const d = dump({
        certificates: [
          {
            identity: 'spiffe://cluster.local/ns/shop/sa/web',
            state: 'Available',
            certChain: pems,
            rootCerts: [cred.rootPem],
          },
        ],
      });
      const leaf = new X509Certificate(cred.certPem);
      const t = certificateTable(d, new Date());
      assert.deepEqual(column(t, 'TYPE'), ['Leaf', 'Intermediate', 'Root']);
      assert.deepEqual(column(t, 'VALID CERT'), ['true', 'true', 'true']);
      assert.equal(column(t, 'SERIAL NUMBER')[0], BigInt(`0x${leaf.serialNumber}`).toString(16));
      assert.equal(column(t, 'NOT AFTER')[0], new Date(leaf.validTo).toISOString().replace(/\.\d{3}Z$/, 'Z'));
      assert.equal(
        column(t, 'NOT BEFORE')[0],
        new Date(leaf.validFrom).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      );
    });

    it('PEM text that is not a certificate prints NA instead of failing the table', () => {
      const t = certificateTable(
        dump({ certificates: [{ identity: 'x', state: 'Available', certChain: ['garbage'] }] }),
        NOW,
      );
      assert.equal(t.split('\n')[1]?.split(/ +/).join(' '), 'x Leaf Available false NA NA NA');
    });

    it('without rootCerts, the last certificate of the chain is the Root (older dumps)', () => {
      assert.deepEqual(column(certificateTable(fixture('ztunnel.json'), NOW), 'TYPE'), ['Leaf', 'Root']);
    });

    it('"Unavailable: <reason>" is shown as Unavailable, and identities keep the served order', () => {
      const t = certificateTable(fixture('agent.json'), NOW);
      assert.deepEqual(column(t, 'STATUS'), [
        'Available',
        'Available',
        'Available',
        'Initializing',
        'Unavailable',
      ]);
      assert.deepEqual(column(t, 'CERTIFICATE NAME').slice(3), [
        'spiffe://cluster.local/ns/shop/sa/cart',
        'spiffe://cluster.local/ns/batch/sa/job',
      ]);
    });
  });

  describe('connections', () => {
    const d = fixture('agent.json');

    it('names a service VIP by hostname and a workload IP by "<name>.<namespace>", keeping the port', () => {
      const name = addressNamer(d);
      assert.equal(name('10.96.0.20:8080'), 'cart.shop.svc.cluster.local:8080');
      assert.equal(name('10.10.2.7:15008'), 'cart-1.shop:15008');
      assert.equal(name('[fd00::5]:41000'), 'job-1.batch:41000');
      assert.equal(name('192.168.7.1:51000'), '192.168.7.1:51000');
      assert.equal(name('garbage'), 'garbage');
    });

    it('sorts by workload namespace and name, inbound before outbound, served order otherwise', () => {
      const t = connectionTable(d);
      assert.deepEqual(column(t, 'WORKLOAD'), ['job-1.batch', 'cart-1.shop', 'web-1.shop', 'web-1.shop']);
      assert.deepEqual(column(t, 'DIRECTION'), ['Outbound', 'Inbound', 'Inbound', 'Outbound']);
    });

    it("keeps an inbound connection's REMOTE TARGET as served and names an outbound one", () => {
      const t = connectionTable(d);
      assert.deepEqual(column(t, 'REMOTE TARGET'), [
        '[fd00::9]:443',
        '10.96.0.20:8080',
        '10.10.1.5:8080',
        'cart.shop.svc.cluster.local:8080',
      ]);
    });

    it('--raw prints every address as served', () => {
      const t = connectionTable(d, { raw: true });
      assert.deepEqual(column(t, 'LOCAL'), [
        '[fd00::5]:41000',
        '10.10.2.7:8080',
        '10.10.1.5:8080',
        '10.10.1.5:40100',
      ]);
    });

    const filters = [
      {
        name: 'direction inbound',
        f: { direction: 'inbound' } as const,
        want: ['cart-1.shop', 'web-1.shop'],
      },
      {
        name: 'direction outbound',
        f: { direction: 'outbound' } as const,
        want: ['job-1.batch', 'web-1.shop'],
      },
      { name: 'workload namespace', f: { namespace: 'batch' }, want: ['job-1.batch'] },
    ];
    for (const c of filters) {
      it(`filters by ${c.name}`, () => {
        assert.deepEqual(column(connectionTable(d, c.f), 'WORKLOAD'), c.want);
      });
    }

    it("reads ztunnel's workloadState connections: inbound LOCAL is actualDst, outbound REMOTE is actualDst", () => {
      const t = connectionTable(fixture('ztunnel.json'), { raw: true });
      assert.deepEqual(
        lines(t)
          .slice(1)
          .map((l) => l.split(/ +/)),
        [
          [
            'api-7d9f.demo',
            'Inbound',
            '10.30.0.11:9080',
            '10.30.0.12:48000',
            'api.demo.svc.cluster.local',
            'HBONE',
          ],
          ['api-7d9f.demo', 'Inbound', '10.30.0.11:9080', '10.30.0.99:35068', 'HBONE'],
          ['client-5c4b.demo', 'Outbound', '10.30.0.12:48000', '10.30.0.11:15008', '10.20.0.5:9080', 'HBONE'],
        ],
      );
    });
  });
});
