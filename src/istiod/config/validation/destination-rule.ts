/**
 * Istio `DestinationRule` (networking.istio.io): host, subsets and traffic
 * policies (ValidateDestinationRule, validateTrafficPolicy and the locality
 * load-balancer rules). The spec is stored as validated plain data.
 */
import type { L7Spec, WorkloadSelector } from '../types.js';
import {
  ANY,
  BOOL,
  INT32,
  NUMBER,
  STRING,
  STRING_MAP,
  STRINGS,
  UINT32,
  arr,
  enumOf,
  field,
  index,
  key,
  map,
  obj,
  type Issues,
  type Shape,
} from './shape.js';
import {
  checkDuration,
  checkExportTo,
  checkLabels,
  checkPort,
  dns1123LabelError,
  fqdnError,
  ipError,
  wildcardDomainError,
} from './fields.js';
import { checkWorkloadSelector, WORKLOAD_SELECTOR } from './policy-target.js';
import { NETWORKING_VERSIONS, type KindValidator } from './validator.js';

const LOCALITY_LB: Shape = obj({
  distribute: arr(obj({ from: STRING, to: map(UINT32) })),
  failover: arr(obj({ from: STRING, to: STRING })),
  failoverPriority: STRINGS,
  enabled: BOOL,
});

const LOAD_BALANCER: Shape = obj({
  simple: enumOf('UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'),
  consistentHash: obj({
    httpHeaderName: STRING,
    httpCookie: obj({
      name: STRING,
      path: STRING,
      ttl: STRING,
      attributes: arr(obj({ name: STRING, value: STRING })),
    }),
    useSourceIp: BOOL,
    httpQueryParameterName: STRING,
    ringHash: obj({ minimumRingSize: UINT32 }),
    maglev: obj({ tableSize: UINT32 }),
    minimumRingSize: UINT32,
  }),
  localityLbSetting: LOCALITY_LB,
  warmupDurationSecs: STRING,
  warmup: obj({
    duration: STRING,
    minimumPercent: NUMBER,
    aggression: NUMBER,
  }),
});

const CONNECTION_POOL: Shape = obj({
  tcp: obj({
    maxConnections: INT32,
    connectTimeout: STRING,
    tcpKeepalive: obj({ probes: UINT32, time: STRING, interval: STRING }),
    maxConnectionDuration: STRING,
    idleTimeout: STRING,
  }),
  http: obj({
    http1MaxPendingRequests: INT32,
    http2MaxRequests: INT32,
    maxRequestsPerConnection: INT32,
    maxRetries: INT32,
    idleTimeout: STRING,
    h2UpgradePolicy: enumOf('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
    useClientProtocol: BOOL,
    maxConcurrentStreams: INT32,
    http2KeepAlive: obj({ interval: STRING, timeout: STRING }),
  }),
});

const OUTLIER_DETECTION: Shape = obj({
  splitExternalLocalOriginErrors: BOOL,
  consecutiveLocalOriginFailures: UINT32,
  consecutiveGatewayErrors: UINT32,
  consecutive5xxErrors: UINT32,
  consecutiveErrors: INT32,
  interval: STRING,
  baseEjectionTime: STRING,
  maxEjectionPercent: INT32,
  minHealthPercent: INT32,
});

const CLIENT_TLS: Shape = obj({
  mode: enumOf('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
  clientCertificate: STRING,
  privateKey: STRING,
  caCertificates: STRING,
  credentialName: STRING,
  subjectAltNames: STRINGS,
  sni: STRING,
  insecureSkipVerify: BOOL,
  caCrl: STRING,
});

const PORT_POLICY: Shape = obj({
  port: obj({ number: UINT32 }),
  loadBalancer: LOAD_BALANCER,
  connectionPool: CONNECTION_POOL,
  outlierDetection: OUTLIER_DETECTION,
  tls: CLIENT_TLS,
});

const TRAFFIC_POLICY: Shape = obj({
  loadBalancer: LOAD_BALANCER,
  connectionPool: CONNECTION_POOL,
  outlierDetection: OUTLIER_DETECTION,
  tls: CLIENT_TLS,
  portLevelSettings: arr(PORT_POLICY),
  tunnel: obj({ protocol: STRING, targetHost: STRING, targetPort: UINT32 }),
  proxyProtocol: obj({ version: enumOf('V1', 'V2') }),
  retryBudget: obj({ percent: NUMBER, minRetryConcurrency: UINT32 }),
});

const SPEC = obj({
  host: STRING,
  trafficPolicy: TRAFFIC_POLICY,
  subsets: arr(obj({ name: STRING, labels: STRING_MAP, trafficPolicy: TRAFFIC_POLICY })),
  exportTo: STRINGS,
  workloadSelector: WORKLOAD_SELECTOR,
});

// ---------- decoded forms ----------

interface LocalityLb {
  readonly distribute?: readonly { readonly from?: string; readonly to?: Readonly<Record<string, number>> }[];
  readonly failover?: readonly { readonly from?: string; readonly to?: string }[];
  readonly failoverPriority?: readonly string[];
}
interface LoadBalancer {
  readonly simple?: string;
  readonly consistentHash?: {
    readonly httpHeaderName?: string;
    readonly httpCookie?: { readonly name?: string; readonly ttl?: string };
    readonly useSourceIp?: boolean;
    readonly httpQueryParameterName?: string;
    readonly ringHash?: { readonly minimumRingSize?: number };
    readonly maglev?: { readonly tableSize?: number };
    readonly minimumRingSize?: number;
  };
  readonly localityLbSetting?: LocalityLb;
  readonly warmupDurationSecs?: string;
  readonly warmup?: {
    readonly duration?: string;
    readonly minimumPercent?: number;
    readonly aggression?: number;
  };
}
interface ConnectionPool {
  readonly tcp?: {
    readonly maxConnections?: number;
    readonly connectTimeout?: string;
    readonly tcpKeepalive?: { readonly time?: string; readonly interval?: string };
    readonly maxConnectionDuration?: string;
    readonly idleTimeout?: string;
  };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    readonly maxRequestsPerConnection?: number;
    readonly maxRetries?: number;
    readonly idleTimeout?: string;
    readonly h2UpgradePolicy?: string;
    readonly useClientProtocol?: boolean;
    readonly maxConcurrentStreams?: number;
    readonly http2KeepAlive?: { readonly interval?: string; readonly timeout?: string };
  };
}
interface OutlierDetection {
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly consecutiveLocalOriginFailures?: number;
  readonly interval?: string;
  readonly baseEjectionTime?: string;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
}
interface ClientTls {
  readonly mode?: string;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly insecureSkipVerify?: boolean;
  readonly caCrl?: string;
}
interface PortPolicy {
  readonly port?: { readonly number?: number };
  readonly loadBalancer?: LoadBalancer;
  readonly connectionPool?: ConnectionPool;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTls;
}
interface TrafficPolicy extends PortPolicy {
  readonly portLevelSettings?: readonly PortPolicy[];
  readonly tunnel?: {
    readonly protocol?: string;
    readonly targetHost?: string;
    readonly targetPort?: number;
  };
  readonly proxyProtocol?: { readonly version?: string };
  readonly retryBudget?: { readonly percent?: number };
}
interface RawSpec {
  readonly host?: string;
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets?: readonly {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly trafficPolicy?: TrafficPolicy;
  }[];
  readonly exportTo?: readonly string[];
  readonly workloadSelector?: WorkloadSelector;
}

// ---------- checks ----------

/** Envoy's Maglev table size must be prime (and below 5000011). */
function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n < 4) return true;
  if (n % 2 === 0) return false;
  for (let f = 3; f * f <= n; f += 2) if (n % f === 0) return false;
  return true;
}

function localityError(l: string): string | undefined {
  const stars = l.split('*').length - 1;
  if (stars > 1 || (stars === 1 && !l.endsWith('*')))
    return `locality ${l} wildcard '*' number can not exceed 1 and must be in the end`;
  if (l.split('/', 3).some((part) => part === ''))
    return `locality ${l} must not contain empty region/zone/subzone info`;
  return undefined;
}

function checkLocalityLb(issues: Issues, path: string, lb: LocalityLb): void {
  const distribute = lb.distribute ?? [];
  const failover = lb.failover ?? [];
  if (distribute.length > 0 && failover.length > 0) {
    issues.add(path, "can not simultaneously specify 'distribute' and 'failover'");
    return;
  }
  const topologyLabels = [
    'topology.kubernetes.io/region',
    'topology.kubernetes.io/zone',
    'topology.istio.io/subzone',
  ];
  if (failover.length > 0) {
    lb.failoverPriority?.forEach((label, i) => {
      if (topologyLabels.includes(label)) {
        issues.add(
          index(field(path, 'failoverPriority'), i),
          `can not simultaneously set 'failover' and topology label '${label}' in 'failoverPriority'`,
        );
      }
    });
  }
  distribute.forEach((d, i) => {
    const p = index(field(path, 'distribute'), i);
    if (d.from !== undefined) {
      const e = localityError(d.from);
      if (e !== undefined) issues.add(field(p, 'from'), e);
    }
    let total = 0;
    for (const [loc, w] of Object.entries(d.to ?? {})) {
      const lp = key(field(p, 'to'), loc);
      if (w <= 0 || w > 100) issues.add(lp, `locality weight ${w} must be in range [1, 100]`);
      const e = localityError(loc);
      if (e !== undefined) issues.add(lp, e);
      total += w;
    }
    if (total !== 100) issues.add(field(p, 'to'), `total locality weight ${total} != 100`);
  });
  failover.forEach((f, i) => {
    const p = index(field(path, 'failover'), i);
    if (f.from === f.to) issues.add(p, 'locality lb failover settings must specify different regions');
    if ((f.from ?? '').includes('/') || (f.to ?? '').includes('/'))
      issues.add(p, 'locality lb failover only specify region');
    if ((f.from ?? '').includes('*') || (f.to ?? '').includes('*'))
      issues.add(p, "locality lb failover region should not contain '*' wildcard");
  });
}

function checkLoadBalancer(issues: Issues, path: string, lb: LoadBalancer): void {
  if (lb.simple !== undefined && lb.consistentHash !== undefined) {
    issues.add(field(path, 'consistentHash'), 'only one of simple or consistentHash may be set');
  }
  const ch = lb.consistentHash;
  if (ch !== undefined) {
    const p = field(path, 'consistentHash');
    const keys = (['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] as const).filter(
      (k) => ch[k] !== undefined,
    );
    if (keys.length > 1) issues.add(p, `only one hash key may be set (found ${keys.join(', ')})`);
    if (ch.httpCookie !== undefined && (ch.httpCookie.name ?? '') === '') {
      issues.add(field(p, 'httpCookie.name'), 'name required for httpCookie');
    }
    if (ch.ringHash !== undefined && ch.maglev !== undefined)
      issues.add(field(p, 'maglev'), 'only one of ringHash or maglev may be set');
    if ((ch.minimumRingSize ?? 0) !== 0 && (ch.ringHash !== undefined || ch.maglev !== undefined)) {
      issues.add(
        field(p, 'minimumRingSize'),
        'only one of minimumRingSize or maglev/ringHash can be specified',
      );
    }
    if (ch.maglev !== undefined) {
      const size = ch.maglev.tableSize ?? 0;
      const mp = field(p, 'maglev.tableSize');
      if (size === 0) issues.add(mp, 'tableSize must be set for maglev');
      else if (size >= 5000011) issues.add(mp, 'tableSize must be less than 5000011 for maglev');
      else if (!isPrime(size)) issues.add(mp, `tableSize ${size} must be a prime number for maglev`);
    }
  }
  if (lb.localityLbSetting !== undefined)
    checkLocalityLb(issues, field(path, 'localityLbSetting'), lb.localityLbSetting);
  checkDuration(issues, field(path, 'warmupDurationSecs'), lb.warmupDurationSecs);
  const warmup = lb.warmup;
  if (warmup !== undefined) {
    const wp = field(path, 'warmup');
    if (warmup.duration === undefined) issues.add(field(wp, 'duration'), 'warmup duration is required');
    else checkDuration(issues, field(wp, 'duration'), warmup.duration);
    const min = warmup.minimumPercent;
    if (min !== undefined && (min < 0 || min > 100)) {
      issues.add(field(wp, 'minimumPercent'), `minimumPercent ${min} must be in range 0..100`);
    }
    const aggression = warmup.aggression;
    if (aggression !== undefined && aggression < 1) {
      issues.add(field(wp, 'aggression'), `aggression ${aggression} must be at least 1`);
    }
  }
  if (lb.warmup !== undefined && lb.warmupDurationSecs !== undefined) {
    issues.add(field(path, 'warmup'), 'only one of warmupDurationSecs or warmup may be set');
  }
}

function checkConnectionPool(issues: Issues, path: string, cp: ConnectionPool): void {
  if (cp.tcp === undefined && cp.http === undefined && !issues.isIncomplete(path)) {
    issues.add(path, 'connection pool must have at least one field (tcp or http)');
    return;
  }
  const http = cp.http;
  if (http !== undefined) {
    const hp = field(path, 'http');
    for (const f of [
      'http1MaxPendingRequests',
      'http2MaxRequests',
      'maxRequestsPerConnection',
      'maxRetries',
      'maxConcurrentStreams',
    ] as const) {
      const v = http[f];
      if (v !== undefined && v < 0) issues.add(field(hp, f), `${f} must be non-negative`);
    }
    checkDuration(issues, field(hp, 'idleTimeout'), http.idleTimeout);
    checkDuration(issues, field(hp, 'http2KeepAlive.interval'), http.http2KeepAlive?.interval);
    checkDuration(issues, field(hp, 'http2KeepAlive.timeout'), http.http2KeepAlive?.timeout);
    if (http.h2UpgradePolicy === 'UPGRADE' && http.useClientProtocol === true) {
      issues.add(
        field(hp, 'useClientProtocol'),
        'useClientProtocol must not be true when h2UpgradePolicy is UPGRADE',
      );
    }
  }
  const tcp = cp.tcp;
  if (tcp !== undefined) {
    const tp = field(path, 'tcp');
    if (tcp.maxConnections !== undefined && tcp.maxConnections < 0)
      issues.add(field(tp, 'maxConnections'), 'maxConnections must be non-negative');
    checkDuration(issues, field(tp, 'connectTimeout'), tcp.connectTimeout);
    checkDuration(issues, field(tp, 'maxConnectionDuration'), tcp.maxConnectionDuration);
    checkDuration(issues, field(tp, 'idleTimeout'), tcp.idleTimeout);
    checkDuration(issues, field(tp, 'tcpKeepalive.time'), tcp.tcpKeepalive?.time);
    checkDuration(issues, field(tp, 'tcpKeepalive.interval'), tcp.tcpKeepalive?.interval);
  }
}

function checkOutlierDetection(issues: Issues, path: string, od: OutlierDetection): void {
  checkDuration(issues, field(path, 'baseEjectionTime'), od.baseEjectionTime);
  checkDuration(issues, field(path, 'interval'), od.interval);
  if (od.splitExternalLocalOriginErrors !== true && (od.consecutiveLocalOriginFailures ?? 0) > 0) {
    issues.add(
      field(path, 'consecutiveLocalOriginFailures'),
      'consecutiveLocalOriginFailures is set but splitExternalLocalOriginErrors is false',
    );
  }
  for (const f of ['maxEjectionPercent', 'minHealthPercent'] as const) {
    const v = od[f];
    if (v !== undefined && (v < 0 || v > 100))
      issues.add(field(path, f), `percentage ${v} is not in range 0..100`);
  }
}

function checkClientTls(issues: Issues, path: string, tls: ClientTls): void {
  const mode = tls.mode ?? 'DISABLE';
  if (tls.insecureSkipVerify === true) {
    if (
      mode === 'SIMPLE' &&
      ((tls.caCertificates ?? '') !== '' ||
        (tls.credentialName ?? '') !== '' ||
        tls.subjectAltNames !== undefined)
    ) {
      issues.add(
        field(path, 'insecureSkipVerify'),
        'cannot specify caCertificates, credentialName or subjectAltNames when insecureSkipVerify is true',
      );
    }
    if (mode === 'MUTUAL' && ((tls.caCertificates ?? '') !== '' || tls.subjectAltNames !== undefined)) {
      issues.add(
        field(path, 'insecureSkipVerify'),
        'cannot specify caCertificates or subjectAltNames when insecureSkipVerify is true',
      );
    }
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && (tls.credentialName ?? '') !== '') {
    if (
      [tls.clientCertificate, tls.caCertificates, tls.privateKey, tls.caCrl].some((v) => (v ?? '') !== '')
    ) {
      issues.add(
        field(path, 'credentialName'),
        'cannot specify client certificates, CA certificate or CA CRL if credentialName is set',
      );
    }
    return;
  }
  if (mode === 'MUTUAL') {
    if ((tls.clientCertificate ?? '') === '')
      issues.add(field(path, 'clientCertificate'), 'client certificate required for mutual tls');
    if ((tls.privateKey ?? '') === '')
      issues.add(field(path, 'privateKey'), 'private key required for mutual tls');
  }
}

function checkPortPolicyFields(issues: Issues, path: string, p: PortPolicy): void {
  if (p.outlierDetection !== undefined)
    checkOutlierDetection(issues, field(path, 'outlierDetection'), p.outlierDetection);
  if (p.connectionPool !== undefined)
    checkConnectionPool(issues, field(path, 'connectionPool'), p.connectionPool);
  if (p.loadBalancer !== undefined) checkLoadBalancer(issues, field(path, 'loadBalancer'), p.loadBalancer);
  if (p.tls !== undefined) checkClientTls(issues, field(path, 'tls'), p.tls);
}

function checkTrafficPolicy(issues: Issues, path: string, tp: TrafficPolicy): void {
  const set = (
    [
      'outlierDetection',
      'connectionPool',
      'loadBalancer',
      'tls',
      'portLevelSettings',
      'tunnel',
      'proxyProtocol',
      'retryBudget',
    ] as const
  ).filter((f) => tp[f] !== undefined);
  if (set.length === 0 && !issues.isIncomplete(path)) {
    issues.add(path, 'traffic policy must have at least one field');
    return;
  }
  if (tp.tunnel !== undefined && tp.proxyProtocol !== undefined)
    issues.add(path, 'tunnel and proxyProtocol must not be set together');
  checkPortPolicyFields(issues, path, tp);
  tp.portLevelSettings?.forEach((p, i) => {
    const pp = index(field(path, 'portLevelSettings'), i);
    if (p.port === undefined) issues.add(field(pp, 'port'), 'port is required');
    else checkPort(issues, field(pp, 'port.number'), p.port.number ?? 0);
    if (
      p.outlierDetection === undefined &&
      p.connectionPool === undefined &&
      p.loadBalancer === undefined &&
      p.tls === undefined
    ) {
      issues.add(pp, 'port traffic policy must have at least one field');
    } else {
      checkPortPolicyFields(issues, pp, p);
    }
  });
  const tunnel = tp.tunnel;
  if (tunnel !== undefined) {
    const t = field(path, 'tunnel');
    if (
      tunnel.protocol !== undefined &&
      tunnel.protocol !== '' &&
      tunnel.protocol !== 'CONNECT' &&
      tunnel.protocol !== 'POST'
    ) {
      issues.add(field(t, 'protocol'), 'tunnel protocol must be "CONNECT" or "POST"');
    }
    const host = tunnel.targetHost ?? '';
    if (fqdnError(host) !== undefined && ipError(host) !== undefined) {
      issues.add(
        field(t, 'targetHost'),
        `tunnel target host ${JSON.stringify(host)} must be a valid FQDN or IP address`,
      );
    }
    checkPort(issues, field(t, 'targetPort'), tunnel.targetPort ?? 0);
  }
  const budget = tp.retryBudget?.percent;
  if (budget !== undefined && (budget < 0 || budget > 100)) {
    issues.add(field(path, 'retryBudget.percent'), `percentage ${budget} is not in range 0..100`);
  }
}

export const destinationRuleValidator: KindValidator<'DestinationRule'> = {
  kind: 'DestinationRule',
  apiVersions: NETWORKING_VERSIONS,
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    if (raw.host === undefined || raw.host === '') issues.add('spec.host', 'host is required');
    else {
      const e = wildcardDomainError(raw.host);
      if (e !== undefined) issues.add('spec.host', e);
    }
    if (raw.trafficPolicy !== undefined) checkTrafficPolicy(issues, 'spec.trafficPolicy', raw.trafficPolicy);
    const names = new Set<string>();
    raw.subsets?.forEach((s, i) => {
      const p = index('spec.subsets', i);
      const name = s.name ?? '';
      if (name === '') issues.add(field(p, 'name'), 'subset name cannot be empty');
      else {
        const e = dns1123LabelError(name);
        if (e !== undefined) issues.add(field(p, 'name'), `subset name is invalid: ${e}`);
        if (names.has(name)) issues.add(field(p, 'name'), `duplicate subset name ${JSON.stringify(name)}`);
        names.add(name);
      }
      checkLabels(issues, field(p, 'labels'), s.labels);
      if (s.trafficPolicy !== undefined)
        checkTrafficPolicy(issues, field(p, 'trafficPolicy'), s.trafficPolicy);
    });
    checkExportTo(issues, 'spec.exportTo', raw.exportTo, false);
    if (raw.workloadSelector !== undefined) {
      checkWorkloadSelector(issues, 'spec.workloadSelector', raw.workloadSelector);
      const exportTo = raw.exportTo ?? [];
      if (exportTo.some((e) => e !== '.' && e !== meta.namespace)) {
        issues.add(
          'spec.exportTo',
          'destination rule with workload selector cannot have exportTo beyond current namespace',
        );
      }
    }
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
