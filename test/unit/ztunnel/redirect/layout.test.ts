import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  COUNTER_COUNT,
  FAMILY_INET,
  FAMILY_INET6,
  LAYOUT,
  LISTENER_INBOUND_PLAINTEXT,
  decodeOrigDst,
  decodePodsValue,
  encodeListenersKey,
  encodePodAddrsKey,
  encodePodsValue,
  formatAddress,
  formatCidr,
  parseAddress,
  parseCidr,
} from '../../../../src/ztunnel/redirect/layout.js';
import { DEFAULT_OBJECT_DIR, PACKAGE_ROOT } from '../../../../src/ztunnel/redirect/native.js';
import { COUNTER_NAMES } from '../../../../src/ztunnel/redirect/types.js';
import * as portsAndLimits from '../../../../src/shared/ports-and-limits.js';

interface BtfMember {
  name: string;
  bits_offset: number;
}
interface BtfType {
  kind: string;
  name?: string;
  size?: number;
  members?: BtfMember[];
}

function btfStructs(object: string): Map<string, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', object], { encoding: 'utf8' });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.filter((t) => t.kind === 'STRUCT' && t.name !== undefined).map((t) => [t.name as string, t]));
}

describe('redirect layout: the TypeScript codec matches the C structs', () => {
  for (const object of ['connect.bpf.o', 'sockops.bpf.o', 'sk_lookup.bpf.o']) {
    describe(object, () => {
      const file = path.join(DEFAULT_OBJECT_DIR, object);
      let structs: Map<string, BtfType>;
      before(() => {
        assert.ok(fs.existsSync(file), `${file} is missing: run "npm run build"`);
        structs = btfStructs(file);
      });
      for (const [name, layout] of Object.entries(LAYOUT)) {
        it(`struct ${name} has the size and member offsets the codec uses`, () => {
          const btf = structs.get(name);
          assert.ok(btf, `struct ${name} is not in the BTF of ${object}`);
          assert.equal(btf.size, layout.size, `sizeof(struct ${name})`);
          const offsets = Object.fromEntries((btf.members ?? []).map((m) => [m.name, m.bits_offset / 8]));
          assert.deepEqual(offsets, layout.members);
        });
      }
    });
  }

  it('the counter names follow enum ambit_counter in the shared header, in order', () => {
    const header = fs.readFileSync(path.join(PACKAGE_ROOT, 'bpf', 'ambit_shared.h'), 'utf8');
    const names = [...header.matchAll(/^\s*AMBIT_CNT_([A-Z0-9_]+) = (\d+),/gm)]
      .filter((m) => m[1] !== 'MAX')
      .map((m) => ({ index: Number(m[2]), name: m[1] as string }));
    const camel = names.map(({ name }) =>
      name.toLowerCase().replace(/_([a-z0-9])/g, (_s, c: string) => c.toUpperCase()).replace('Addr', 'Address'),
    );
    assert.deepEqual(names.map((n) => n.index), [...COUNTER_NAMES.keys()]);
    assert.deepEqual(camel, [...COUNTER_NAMES]);
    assert.equal(COUNTER_COUNT, COUNTER_NAMES.length);
  });
});

describe('redirect layout: ports and limits are the ones the programs are built with', () => {
  const header = fs.readFileSync(path.join(PACKAGE_ROOT, 'bpf', 'ambit_shared.h'), 'utf8');
  const defines = new Map([...header.matchAll(/^#define AMBIT_([A-Z0-9_]+) (\d+)\s*$/gm)].map((m) => [m[1] as string, Number(m[2])]));
  const shared: Readonly<Record<string, number>> = {
    PORT_OUTBOUND: portsAndLimits.PORT_OUTBOUND,
    PORT_INBOUND_PLAINTEXT: portsAndLimits.PORT_INBOUND_PLAINTEXT,
    PORT_HBONE: portsAndLimits.PORT_HBONE,
    MAX_EXCLUDED_PORTS: portsAndLimits.MAX_EXCLUDED_PORTS,
    MAX_EXCLUDED_CIDRS: portsAndLimits.MAX_EXCLUDED_CIDRS,
    UID_LEN: portsAndLimits.UID_LEN,
    MAX_PODS: portsAndLimits.MAX_PODS,
    MAX_POD_ADDRS: portsAndLimits.MAX_POD_ADDRS,
    MAX_PENDING: portsAndLimits.MAX_PENDING,
    LISTENER_INBOUND_PLAINTEXT,
    FAMILY_INET,
    FAMILY_INET6,
  };
  for (const [name, value] of Object.entries(shared)) {
    it(`AMBIT_${name} in bpf/ambit_shared.h is ${value}, as in TypeScript`, () => {
      assert.equal(defines.get(name), value, `#define AMBIT_${name}`);
    });
  }

  it('every numeric #define of the header is checked here', () => {
    assert.deepEqual([...defines.keys()].sort(), Object.keys(shared).sort());
  });
});

describe('redirect layout: addresses', () => {
  const cases = [
    { text: '10.1.2.3', family: FAMILY_INET, hex: '0a010203' + '00'.repeat(12), back: '10.1.2.3' },
    { text: '::ffff:10.1.2.3', family: FAMILY_INET, hex: '0a010203' + '00'.repeat(12), back: '10.1.2.3' },
    { text: 'fd77::2', family: FAMILY_INET6, hex: 'fd77' + '00'.repeat(13) + '02', back: 'fd77::2' },
    { text: '::1', family: FAMILY_INET6, hex: '00'.repeat(15) + '01', back: '::1' },
    { text: '2001:db8:0:1:0:0:0:9', family: FAMILY_INET6, hex: '20010db8000000010000000000000009', back: '2001:db8:0:1::9' },
  ];
  for (const c of cases) {
    it(`${c.text} encodes as family ${c.family} and formats back as ${c.back}`, () => {
      const a = parseAddress(c.text);
      assert.ok(a);
      assert.equal(a.family, c.family);
      assert.equal(a.bytes.toString('hex'), c.hex);
      assert.equal(formatAddress(a.family, a.bytes), c.back);
    });
  }

  for (const bad of ['', '10.1.2', 'x::y', '10.0.0.0/8']) {
    it(`"${bad}" is not an address`, () => assert.equal(parseAddress(bad), undefined));
  }

  const cidrs = [
    { text: '10.0.0.0/8', want: '10.0.0.0/8' },
    { text: 'fd00::/8', want: 'fd00::/8' },
    { text: '10.0.0.1/33', want: undefined },
    { text: 'fd00::/129', want: undefined },
    { text: '10.0.0.1', want: undefined },
    { text: '10.0.0.1/x', want: undefined },
  ];
  for (const c of cidrs) {
    it(`CIDR "${c.text}" parses to ${c.want ?? 'nothing'}`, () => {
      const parsed = parseCidr(c.text);
      assert.equal(parsed === undefined ? undefined : formatCidr(parsed), c.want);
    });
  }
});

describe('redirect layout: map records', () => {
  it('a pods value round-trips, with ports in host order and the uid NUL-padded', () => {
    const record = {
      cgroupId: 123456789n,
      uid: '0b4d3e8a-3c51-4b4e-9d51-7a3e1f5a6b7c',
      excludedPorts: [22, 9001],
      excludedCidrs: [parseCidr('10.0.0.0/8'), parseCidr('fd00::/16')].map((c) => {
        assert.ok(c);
        return c;
      }),
    };
    const encoded = encodePodsValue(record);
    assert.equal(encoded.length, LAYOUT.pods_value.size);
    assert.equal(encoded.readUInt16LE(LAYOUT.pods_value.members.excluded_ports + 2), 9001);
    assert.equal(encoded[LAYOUT.pods_value.members.uid + record.uid.length], 0);
    const decoded = decodePodsValue(encoded);
    assert.equal(decoded.cgroupId, record.cgroupId);
    assert.equal(decoded.uid, record.uid);
    assert.deepEqual(decoded.excludedPorts, record.excludedPorts);
    assert.deepEqual(decoded.excludedCidrs.map(formatCidr), ['10.0.0.0/8', 'fd00::/16']);
  });

  it('a pod address key holds the address then the family', () => {
    const a = parseAddress('10.200.0.2');
    assert.ok(a);
    const key = encodePodAddrsKey(a);
    assert.equal(key.length, LAYOUT.pod_addrs_key.size);
    assert.equal(key.subarray(0, 4).toString('hex'), '0ac80002');
    assert.equal(key.readUInt16LE(LAYOUT.pod_addrs_key.members.family), FAMILY_INET);
  });

  it('a listeners key holds the netns cookie and the slot', () => {
    const key = encodeListenersKey(0x1122334455667788n, 0);
    assert.equal(key.length, LAYOUT.listeners_key.size);
    assert.equal(key.readBigUInt64LE(0), 0x1122334455667788n);
  });

  it('an original destination decodes its network-order port and family', () => {
    const b = Buffer.alloc(LAYOUT.ambit_orig_dst.size);
    Buffer.from([203, 0, 113, 7]).copy(b, 0);
    b.writeUInt16BE(443, LAYOUT.ambit_orig_dst.members.port);
    b.writeUInt16LE(FAMILY_INET, LAYOUT.ambit_orig_dst.members.family);
    assert.deepEqual(decodeOrigDst(b), { address: '203.0.113.7', port: 443, family: 4 });
  });
});
