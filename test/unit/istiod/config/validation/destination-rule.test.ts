import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const dr = (spec: string): string => doc('networking.istio.io/v1', 'DestinationRule', spec);
/** A DestinationRule for `reviews` with the given trafficPolicy fragment. */
const tp = (policy: string): string =>
  dr(`host: reviews\ntrafficPolicy:\n  ${policy.replace(/\n/g, '\n  ')}`);

const cases: ValidationCase[] = [
  {
    name: 'subsets with labels and a policy',
    yaml: dr(
      'host: reviews.prod.svc.cluster.local\nsubsets:\n- {name: v1, labels: {version: v1}}\n- name: v2\n  labels: {version: v2}\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}',
    ),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'DestinationRule');
      assert.equal((o.spec as { host?: string }).host, 'reviews.prod.svc.cluster.local');
    },
  },
  {
    name: 'a wildcard host',
    yaml: dr('host: "*.example.com"\ntrafficPolicy: {tls: {mode: SIMPLE}}'),
    want: 'valid',
  },
  {
    name: 'a connection pool and outlier detection',
    yaml: tp(
      'connectionPool:\n  tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s}}\n  http: {http2MaxRequests: 1000, maxRequestsPerConnection: 10, idleTimeout: 1h}\noutlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50}',
    ),
    want: 'valid',
  },
  {
    name: 'consistent hashing on a header',
    yaml: tp('loadBalancer:\n  consistentHash: {httpHeaderName: x-user}'),
    want: 'valid',
  },
  {
    name: 'a maglev table of prime size',
    yaml: tp('loadBalancer:\n  consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}'),
    want: 'valid',
  },
  {
    name: 'locality distribution summing to 100',
    yaml: tp(
      'loadBalancer:\n  localityLbSetting:\n    distribute:\n    - {from: us-west/zone1/*, to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}}',
    ),
    want: 'valid',
  },
  {
    name: 'locality failover',
    yaml: tp(
      'loadBalancer:\n  localityLbSetting:\n    failover:\n    - {from: us-east, to: eu-west}\noutlierDetection: {consecutive5xxErrors: 1}',
    ),
    want: 'valid',
  },
  {
    name: 'mutual TLS with files',
    yaml: tp('tls: {mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem}'),
    want: 'valid',
  },
  {
    name: 'mutual TLS with a credential name',
    yaml: tp('tls: {mode: MUTUAL, credentialName: client-cred}'),
    want: 'valid',
  },
  {
    name: 'port-level settings',
    yaml: tp('portLevelSettings:\n- port: {number: 80}\n  loadBalancer: {simple: LEAST_REQUEST}'),
    want: 'valid',
  },
  {
    name: 'a workload selector exported to its own namespace',
    yaml: dr('host: a\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: ["."]'),
    want: 'valid',
  },
  { name: 'the v1alpha3 apiVersion', yaml: dr('host: a').replace('/v1\n', '/v1alpha3\n'), want: 'valid' },

  {
    name: 'slow-start warmup with a minimum percent and aggression',
    yaml: tp('loadBalancer:\n  warmup: {duration: 300s, minimumPercent: 5.0, aggression: 5.0}'),
    want: 'valid',
  },
  {
    name: 'HTTP/2 keep-alive pings',
    yaml: tp('connectionPool:\n  http:\n    http2KeepAlive: {interval: 15s, timeout: 5s}'),
    want: 'valid',
  },
  { name: 'no host', yaml: dr('subsets:\n- {name: v1}'), want: ['spec.host'] },
  { name: 'an invalid host', yaml: dr('host: "bad host"'), want: ['spec.host'] },
  {
    name: 'duplicate subset names',
    yaml: dr('host: a\nsubsets:\n- {name: v1, labels: {v: "1"}}\n- {name: v1, labels: {v: "2"}}'),
    want: ['spec.subsets[1].name'],
  },
  {
    name: 'a subset without a name',
    yaml: dr('host: a\nsubsets:\n- labels: {v: "1"}'),
    want: ['spec.subsets[0].name'],
  },
  {
    name: 'a subset label with a bad value',
    yaml: dr('host: a\nsubsets:\n- {name: v1, labels: {v: "-x"}}'),
    want: ['spec.subsets[0].labels["v"]'],
  },
  { name: 'an empty traffic policy', yaml: dr('host: a\ntrafficPolicy: {}'), want: ['spec.trafficPolicy'] },
  {
    name: 'an unknown simple load balancer',
    yaml: tp('loadBalancer: {simple: FASTEST}'),
    want: ['spec.trafficPolicy.loadBalancer.simple'],
  },
  {
    name: 'both simple and consistentHash',
    yaml: tp('loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}'),
    want: ['spec.trafficPolicy.loadBalancer.consistentHash'],
  },
  {
    name: 'an http cookie without a name',
    yaml: tp('loadBalancer:\n  consistentHash: {httpCookie: {ttl: 0s}}'),
    want: ['spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name'],
  },
  {
    name: 'a maglev table that is not prime',
    yaml: tp('loadBalancer:\n  consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}'),
    want: ['spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize'],
  },
  {
    name: 'locality weights that do not sum to 100',
    yaml: tp(
      'loadBalancer:\n  localityLbSetting:\n    distribute:\n    - {from: a/b/*, to: {"a/b/*": 60, "a/c/*": 30}}',
    ),
    want: ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to'],
  },
  {
    name: 'a locality weight of 0',
    yaml: tp('loadBalancer:\n  localityLbSetting:\n    distribute:\n    - {from: a, to: {"a": 100, "b": 0}}'),
    want: ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to["b"]'],
  },
  {
    name: 'distribute and failover together',
    yaml: tp(
      'loadBalancer:\n  localityLbSetting:\n    distribute:\n    - {from: a, to: {"a": 100}}\n    failover:\n    - {from: a, to: b}',
    ),
    want: ['spec.trafficPolicy.loadBalancer.localityLbSetting'],
  },
  {
    name: 'a failover to the same region',
    yaml: tp(
      'loadBalancer:\n  localityLbSetting:\n    failover:\n    - {from: a, to: a}\noutlierDetection: {interval: 1s}',
    ),
    want: ['spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]'],
  },
  {
    name: 'an empty connection pool',
    yaml: tp('connectionPool: {}'),
    want: ['spec.trafficPolicy.connectionPool'],
  },
  {
    name: 'negative max connections',
    yaml: tp('connectionPool:\n  tcp: {maxConnections: -1}'),
    want: ['spec.trafficPolicy.connectionPool.tcp.maxConnections'],
  },
  {
    name: 'a connect timeout below 1ms',
    yaml: tp('connectionPool:\n  tcp: {connectTimeout: 0s}'),
    want: ['spec.trafficPolicy.connectionPool.tcp.connectTimeout'],
  },
  {
    name: 'a duration with sub-millisecond precision',
    yaml: tp('connectionPool:\n  http: {idleTimeout: 1.0005s}'),
    want: ['spec.trafficPolicy.connectionPool.http.idleTimeout'],
  },
  {
    name: 'useClientProtocol with h2 UPGRADE',
    yaml: tp('connectionPool:\n  http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}'),
    want: ['spec.trafficPolicy.connectionPool.http.useClientProtocol'],
  },
  {
    name: 'an ejection percentage above 100',
    yaml: tp('outlierDetection: {maxEjectionPercent: 150}'),
    want: ['spec.trafficPolicy.outlierDetection.maxEjectionPercent'],
  },
  {
    name: 'an outlier interval that is not a duration',
    yaml: tp('outlierDetection: {interval: soon}'),
    want: ['spec.trafficPolicy.outlierDetection.interval'],
  },
  {
    name: 'local-origin failures without splitting errors',
    yaml: tp('outlierDetection: {consecutiveLocalOriginFailures: 5}'),
    want: ['spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures'],
  },
  { name: 'an unknown TLS mode', yaml: tp('tls: {mode: STRICT}'), want: ['spec.trafficPolicy.tls.mode'] },
  {
    name: 'mutual TLS without a client certificate',
    yaml: tp('tls: {mode: MUTUAL, privateKey: /k.pem}'),
    want: ['spec.trafficPolicy.tls.clientCertificate'],
  },
  {
    name: 'a credential name together with files',
    yaml: tp('tls: {mode: SIMPLE, credentialName: c, caCertificates: /ca.pem}'),
    want: ['spec.trafficPolicy.tls.credentialName'],
  },
  {
    name: 'a port-level setting without a port',
    yaml: tp('portLevelSettings:\n- loadBalancer: {simple: RANDOM}'),
    want: ['spec.trafficPolicy.portLevelSettings[0].port'],
  },
  {
    name: 'a port-level setting without any policy',
    yaml: tp('portLevelSettings:\n- port: {number: 80}'),
    want: ['spec.trafficPolicy.portLevelSettings[0]'],
  },
  {
    name: 'a workload selector exported to other namespaces',
    yaml: dr('host: a\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: ["*"]'),
    want: ['spec.exportTo'],
  },
  {
    name: 'a warmup minimum percent above 100',
    yaml: tp('loadBalancer:\n  warmup: {duration: 300s, minimumPercent: 150.0}'),
    want: ['spec.trafficPolicy.loadBalancer.warmup.minimumPercent'],
  },
  {
    name: 'a warmup without a duration',
    yaml: tp('loadBalancer:\n  warmup: {minimumPercent: 5.0}'),
    want: ['spec.trafficPolicy.loadBalancer.warmup.duration'],
  },
  {
    name: 'a warmup aggression below 1',
    yaml: tp('loadBalancer:\n  warmup: {duration: 300s, aggression: 0.3}'),
    want: ['spec.trafficPolicy.loadBalancer.warmup.aggression'],
  },
  { name: 'no spec at all', yaml: dr(''), want: ['spec'] },
];

describe('validation: DestinationRule', () => {
  runCases(cases);
});
