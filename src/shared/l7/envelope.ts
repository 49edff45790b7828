/**
 * The xDS envelope of a waypoint's compiled configuration: encoding on
 * istiod's side, decoding with a shape check on the waypoint's. A resource
 * that fails the check is NACKed with the error's message (which names the
 * field path), and the waypoint keeps its last good configuration.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { WaypointConfigSchema } from '../../gen/ambit/l7/v1/waypoint_pb.js';
import { AmbitError } from '../errors.js';
import { WAYPOINT_CONFIG_SCHEMA, type WaypointConfig } from './waypoint-config.js';

export type L7ConfigErrorCode = 'L7_CONFIG_UNDECODABLE' | 'L7_CONFIG_SCHEMA' | 'L7_CONFIG_MALFORMED';

export class L7ConfigError extends AmbitError {
  declare readonly code: L7ConfigErrorCode;
}

export function encodeWaypointConfig(config: WaypointConfig): Uint8Array {
  return toBinary(
    WaypointConfigSchema,
    create(WaypointConfigSchema, {
      schemaVersion: WAYPOINT_CONFIG_SCHEMA,
      configJson: JSON.stringify(config),
    }),
  );
}

/** Decodes and checks one resource; throws L7ConfigError saying what and where. */
export function decodeWaypointConfig(bytes: Uint8Array): WaypointConfig {
  let envelope;
  try {
    envelope = fromBinary(WaypointConfigSchema, bytes);
  } catch (err) {
    throw new L7ConfigError(
      'L7_CONFIG_UNDECODABLE',
      `not an ambit.l7.v1.WaypointConfig: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (envelope.schemaVersion !== WAYPOINT_CONFIG_SCHEMA) {
    throw new L7ConfigError(
      'L7_CONFIG_SCHEMA',
      `schema_version ${envelope.schemaVersion} is not the ${WAYPOINT_CONFIG_SCHEMA} this waypoint reads (istiod and waypoint versions differ)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope.configJson);
  } catch (err) {
    throw new L7ConfigError('L7_CONFIG_UNDECODABLE', `config_json: ${(err as Error).message}`, {
      cause: err,
    });
  }
  checkShape(parsed);
  return parsed as WaypointConfig;
}

type Check = (value: unknown, path: string) => void;

function fail(path: string, want: string, value: unknown): never {
  const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
  throw new L7ConfigError('L7_CONFIG_MALFORMED', `${path}: want ${want}, got ${got}`);
}

const str: Check = (v, p) => {
  if (typeof v !== 'string') fail(p, 'a string', v);
};
const num: Check = (v, p) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(p, 'a number', v);
};
const obj =
  (fields: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'an object', v);
    const o = v as Record<string, unknown>;
    for (const [k, check] of Object.entries(fields)) check(o[k], `${p}.${k}`);
    for (const [k, check] of Object.entries(optional)) if (o[k] !== undefined) check(o[k], `${p}.${k}`);
  };
const list =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) fail(p, 'an array', v);
    v.forEach((x, i) => item(x, `${p}[${i}]`));
  };
const record =
  (item: Check): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'an object', v);
    for (const [k, x] of Object.entries(v)) item(x, `${p}[${JSON.stringify(k)}]`);
  };
const any: Check = () => undefined;
const oneOf =
  (values: readonly string[]): Check =>
  (v, p) => {
    if (typeof v !== 'string' || !values.includes(v)) fail(p, `one of ${values.join(', ')}`, v);
  };

const headerOps = obj({ set: record(str), add: record(str), remove: list(str) });
const headerPair = obj({ request: headerOps, response: headerOps });
const weighted = obj({ cluster: str, weight: num }, { headers: headerPair });
const httpAction: Check = (v, p) => {
  obj({ kind: oneOf(['forward', 'redirect', 'direct']) })(v, p);
  const kind = (v as { kind: string }).kind;
  if (kind === 'forward') obj({ clusters: list(weighted) })(v, p);
  else obj({ status: num })(v, p);
};
const httpRoute = obj(
  {
    source: str,
    name: str,
    matches: list(obj({ headers: list(any), withoutHeaders: list(any), queryParams: list(any) })),
    action: httpAction,
    headers: headerPair,
    retries: obj({ attempts: num, retryOn: list(str), retriableStatusCodes: list(num) }),
    mirrors: list(obj({ cluster: str, percent: num })),
  },
  { timeoutMs: num },
);
const service = obj({
  hostname: str,
  namespace: str,
  name: str,
  vips: list(str),
  ports: list(obj({ port: num, name: str, protocol: oneOf(['http', 'http2', 'grpc', 'tcp']) })),
  http: list(httpRoute),
  tcp: list(obj({ source: str, clusters: list(weighted) }, { port: num })),
});
const endpoint = obj({ ip: str, port: num, uid: str, identity: str, protocol: oneOf(['HBONE', 'TCP']) });
const cluster = obj({
  name: str,
  hostname: str,
  port: num,
  subset: str,
  protocol: oneOf(['http', 'http2', 'grpc', 'tcp']),
  lb: obj({ kind: str }),
  connectionPool: obj({}),
  endpoints: list(endpoint),
});
const policy = obj({ name: str, action: oneOf(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']), rules: list(obj({})) });

const config = obj({
  waypoint: obj({
    namespace: str,
    name: str,
    for: oneOf(['service', 'workload', 'all', 'none']),
    identity: str,
  }),
  trustDomain: str,
  services: list(service),
  workloads: list(obj({ ip: str, uid: str, identity: str, protocol: oneOf(['HBONE', 'TCP']) })),
  clusters: record(cluster),
  policies: list(policy),
  peers: record(obj({ uid: str, workload: str, namespace: str, serviceAccount: str })),
  warnings: list(str),
});

function checkShape(value: unknown): void {
  config(value, 'config');
}
