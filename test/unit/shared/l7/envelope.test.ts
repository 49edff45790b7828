import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { WaypointConfigSchema } from '../../../../src/gen/ambit/l7/v1/waypoint_pb.js';
import { decodeWaypointConfig, encodeWaypointConfig } from '../../../../src/shared/l7/envelope.js';
import {
  clusterName,
  WAYPOINT_CONFIG_SCHEMA,
  type WaypointConfig,
} from '../../../../src/shared/l7/waypoint-config.js';

const host = 'reviews.default.svc.cluster.local';
const noOps = { set: {}, add: {}, remove: [] };
const config: WaypointConfig = {
  waypoint: {
    namespace: 'default',
    name: 'waypoint',
    for: 'service',
    identity: 'spiffe://cluster.local/ns/default/sa/waypoint',
  },
  trustDomain: 'cluster.local',
  services: [
    {
      hostname: host,
      namespace: 'default',
      name: 'reviews',
      vips: ['10.96.1.5'],
      ports: [{ port: 9080, name: 'http', protocol: 'http' }],
      http: [
        {
          source: 'default',
          name: '',
          matches: [],
          action: { kind: 'forward', clusters: [{ cluster: clusterName(host, 9080), weight: 100 }] },
          headers: { request: noOps, response: noOps },
          retries: {
            attempts: 2,
            retryOn: ['connect-failure'],
            retriableStatusCodes: [503],
            retryOtherHosts: true,
          },
          mirrors: [],
        },
      ],
      tcp: [],
      routeSource: 'default',
    },
  ],
  workloads: [],
  clusters: {
    [clusterName(host, 9080)]: {
      name: clusterName(host, 9080),
      hostname: host,
      port: 9080,
      subset: '',
      protocol: 'http',
      lb: { kind: 'LEAST_REQUEST' },
      connectionPool: {},
      endpoints: [
        {
          ip: '10.0.1.4',
          port: 9080,
          uid: 'Kubernetes//Pod/default/r',
          identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
          protocol: 'HBONE',
          healthy: true,
        },
      ],
    },
  },
  policies: [],
  peers: {},
  warnings: [],
};

function envelope(schemaVersion: number, configJson: string): Uint8Array {
  return toBinary(WaypointConfigSchema, create(WaypointConfigSchema, { schemaVersion, configJson }));
}

describe('waypoint configuration envelope', () => {
  it('round-trips a configuration', () => {
    assert.deepEqual(decodeWaypointConfig(encodeWaypointConfig(config)), config);
  });

  const refused: readonly { name: string; bytes: Uint8Array; code: string; message: RegExp }[] = [
    {
      name: 'bytes that are not the message',
      bytes: new Uint8Array([0xff, 0xff, 0xff]),
      code: 'L7_CONFIG_UNDECODABLE',
      message: /not an ambit\.l7\.v1\.WaypointConfig/,
    },
    {
      name: 'another schema version',
      bytes: envelope(WAYPOINT_CONFIG_SCHEMA + 1, '{}'),
      code: 'L7_CONFIG_SCHEMA',
      message: /schema_version 2/,
    },
    {
      name: 'JSON that does not parse',
      bytes: envelope(WAYPOINT_CONFIG_SCHEMA, '{"waypoint":'),
      code: 'L7_CONFIG_UNDECODABLE',
      message: /^config_json: /,
    },
    {
      name: 'a route without clusters',
      bytes: envelope(
        WAYPOINT_CONFIG_SCHEMA,
        JSON.stringify({
          ...config,
          services: [
            {
              ...config.services[0],
              http: [{ ...config.services[0]!.http[0], action: { kind: 'forward' } }],
            },
          ],
        }),
      ),
      code: 'L7_CONFIG_MALFORMED',
      message: /^config\.services\[0\]\.http\[0\]\.action\.clusters: want an array, got undefined$/,
    },
    {
      name: 'an endpoint with an unknown protocol',
      bytes: envelope(
        WAYPOINT_CONFIG_SCHEMA,
        JSON.stringify(config).replace('"protocol":"HBONE"', '"protocol":"QUIC"'),
      ),
      code: 'L7_CONFIG_MALFORMED',
      message: /endpoints\[0\]\.protocol: want one of HBONE, TCP/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, saying where`, () => {
      assert.throws(
        () => decodeWaypointConfig(c.bytes),
        (err: Error & { code?: string }) => err.code === c.code && c.message.test(err.message),
      );
    });
  }
});
