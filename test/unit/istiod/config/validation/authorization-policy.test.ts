import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const ap = (spec: string, meta?: string): string =>
  doc('security.istio.io/v1', 'AuthorizationPolicy', spec, meta);

const cases: ValidationCase[] = [
  {
    name: 'a policy with an empty spec (allow nothing)',
    yaml: ap(''),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'AuthorizationPolicy');
      assert.deepEqual(o.spec, {});
      assert.deepEqual(o.metadata.labels, {});
      assert.deepEqual(o.metadata.annotations, {});
    },
  },
  { name: 'one empty rule (allow all)', yaml: ap('rules:\n- {}'), want: 'valid' },
  {
    name: 'an ALLOW policy with sources, operations and conditions',
    yaml: ap(`
selector: {matchLabels: {app: reviews}}
action: ALLOW
rules:
- from:
  - source:
      principals: ["cluster.local/ns/default/sa/productpage"]
      namespaces: ["default"]
      ipBlocks: ["10.0.0.0/8", "2001:db8::/32", "192.168.1.1"]
  to:
  - operation:
      ports: ["8080"]
      methods: ["GET"]
      paths: ["/api/*"]
  when:
  - key: source.ip
    values: ["10.1.2.3"]
  - key: request.headers[x-token]
    notValues: ["bad"]`),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'AuthorizationPolicy');
      if (o.kind !== 'AuthorizationPolicy') return;
      assert.equal(o.spec.action, 'ALLOW');
      assert.deepEqual(o.spec.rules?.[0]?.to?.[0]?.operation.ports, ['8080']);
      assert.equal(o.spec.rules?.[0]?.when?.[1]?.key, 'request.headers[x-token]');
      assert.equal(o.metadata.namespace, 'demo');
    },
  },
  {
    name: 'a DENY policy with rules',
    yaml: ap('action: DENY\nrules:\n- to:\n  - operation: {ports: ["9090"]}'),
    want: 'valid',
  },
  {
    name: 'a CUSTOM policy with a provider and rules',
    yaml: ap(
      'action: CUSTOM\nprovider: {name: ext-authz}\nrules:\n- to:\n  - operation: {paths: ["/admin"]}',
    ),
    want: 'valid',
  },
  {
    name: 'an AUDIT policy',
    yaml: ap('action: AUDIT\nrules:\n- to:\n  - operation: {methods: ["POST"]}'),
    want: 'valid',
  },
  {
    name: 'a targetRef to a Service',
    yaml: ap('targetRef: {kind: Service, group: "", name: reviews}\nrules:\n- {}'),
    want: 'valid',
  },
  {
    name: 'targetRefs to a Gateway API Gateway',
    yaml: ap(
      'targetRefs:\n- {kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}\nrules:\n- {}',
    ),
    want: 'valid',
  },
  {
    name: 'principals with wildcards as prefix, suffix or alone',
    yaml: ap(
      'rules:\n- from:\n  - source: {principals: ["*", "cluster.local/ns/a/*", "*/sa/foo"], notNamespaces: ["kube-*"]}',
    ),
    want: 'valid',
  },
  {
    name: 'a request.auth.claims condition with a claim name',
    yaml: ap('rules:\n- when:\n  - {key: "request.auth.claims[iss]", values: ["https://issuer"]}'),
    want: 'valid',
  },
  {
    name: 'a destination.port condition',
    yaml: ap('rules:\n- when:\n  - {key: destination.port, values: ["443", "80"]}'),
    want: 'valid',
  },
  {
    name: 'the v1beta1 apiVersion',
    yaml: ap('').replace('security.istio.io/v1', 'security.istio.io/v1beta1'),
    want: 'valid',
  },
  {
    name: 'a dry-run annotation on an ALLOW policy',
    yaml: ap('rules:\n- {}', 'name: test\n  annotations: {"istio.io/dry-run": "true"}'),
    want: 'valid',
    check: (o) => assert.equal(o.metadata.namespace, 'default'),
  },
  {
    name: 'serviceAccounts alone',
    yaml: ap('rules:\n- from:\n  - source: {serviceAccounts: ["default/sleep"]}'),
    want: 'valid',
  },

  // Structure
  {
    name: 'an unknown field in a source',
    yaml: ap('rules:\n- from:\n  - source:\n      principal: ["cluster.local/ns/default/sa/x"]'),
    want: ['spec.rules[0].from[0].source.principal'],
    message: /unknown field "principal"/,
  },
  { name: 'an unknown top-level spec field', yaml: ap('actions: ALLOW'), want: ['spec.actions'] },
  {
    name: 'rules given as an object',
    yaml: ap('rules: {from: []}'),
    want: ['spec.rules'],
    message: /expected a list/,
  },
  {
    name: 'principals given as a string',
    yaml: ap('rules:\n- from:\n  - source: {principals: "x"}'),
    want: ['spec.rules[0].from[0].source.principals'],
  },
  {
    name: 'an action outside the enum',
    yaml: ap('action: REJECT\nrules:\n- {}'),
    want: ['spec.action'],
    message: /ALLOW, DENY, AUDIT, CUSTOM/,
  },

  // Actions and providers
  { name: 'CUSTOM without a provider', yaml: ap('action: CUSTOM\nrules:\n- {}'), want: ['spec.provider'] },
  {
    name: 'CUSTOM with a provider without a name',
    yaml: ap('action: CUSTOM\nprovider: {}\nrules:\n- {}'),
    want: ['spec.provider.name'],
  },
  { name: 'CUSTOM without rules', yaml: ap('action: CUSTOM\nprovider: {name: ext}'), want: ['spec.rules'] },
  {
    name: 'a provider on an ALLOW policy',
    yaml: ap('provider: {name: ext}\nrules:\n- {}'),
    want: ['spec.provider'],
  },
  { name: 'DENY without rules', yaml: ap('action: DENY'), want: ['spec.rules'] },
  {
    name: 'CUSTOM with principals in a source',
    yaml: ap('action: CUSTOM\nprovider: {name: ext}\nrules:\n- from:\n  - source: {principals: ["a"]}'),
    want: ['spec.rules[0].from[0].source.principals'],
  },
  {
    name: 'CUSTOM with a source.namespace condition',
    yaml: ap(
      'action: CUSTOM\nprovider: {name: ext}\nrules:\n- when:\n  - {key: source.namespace, values: ["a"]}',
    ),
    want: ['spec.rules[0].when[0].key'],
  },

  // Targets
  {
    name: 'both a selector and a targetRef',
    yaml: ap('selector: {matchLabels: {app: a}}\ntargetRef: {kind: Service, name: a}'),
    want: ['spec.targetRef'],
  },
  {
    name: 'a targetRef with a namespace',
    yaml: ap('targetRef: {kind: Service, name: a, namespace: other}'),
    want: ['spec.targetRef.namespace'],
  },
  {
    name: 'a targetRef to a Deployment',
    yaml: ap('targetRef: {kind: Deployment, group: apps, name: a}'),
    want: ['spec.targetRef.kind'],
  },
  {
    name: 'a targetRef without a name',
    yaml: ap('targetRefs:\n- {kind: Service}'),
    want: ['spec.targetRefs[0].name'],
  },
  {
    name: 'a selector with a wildcard value',
    yaml: ap('selector: {matchLabels: {app: "rev*"}}'),
    want: ['spec.selector.matchLabels["app"]'],
  },
  {
    name: 'a selector with an invalid label key',
    yaml: ap('selector: {matchLabels: {"-bad": x}}'),
    want: ['spec.selector.matchLabels["-bad"]'],
  },

  // Rules
  { name: 'an empty from list', yaml: ap('rules:\n- from: []'), want: ['spec.rules[0].from'] },
  { name: 'an empty to list', yaml: ap('rules:\n- to: []'), want: ['spec.rules[0].to'] },
  {
    name: 'a from entry without a source',
    yaml: ap('rules:\n- from:\n  - {}'),
    want: ['spec.rules[0].from[0].source'],
  },
  {
    name: 'an empty source',
    yaml: ap('rules:\n- from:\n  - source: {}'),
    want: ['spec.rules[0].from[0].source'],
  },
  {
    name: 'an empty operation',
    yaml: ap('rules:\n- to:\n  - operation: {}'),
    want: ['spec.rules[0].to[0].operation'],
  },
  {
    name: 'a named port',
    yaml: ap('rules:\n- to:\n  - operation: {ports: ["http"]}'),
    want: ['spec.rules[0].to[0].operation.ports[0]'],
  },
  {
    name: 'a port above 65535',
    yaml: ap('rules:\n- to:\n  - operation: {notPorts: ["80", "70000"]}'),
    want: ['spec.rules[0].to[0].operation.notPorts[1]'],
  },
  {
    name: 'a CIDR with a bad prefix length',
    yaml: ap('rules:\n- from:\n  - source: {ipBlocks: ["1.2.3.4/40"]}'),
    want: ['spec.rules[0].from[0].source.ipBlocks[0]'],
  },
  {
    name: 'an IP block that is not an address',
    yaml: ap('rules:\n- from:\n  - source: {notIpBlocks: ["not-an-ip"]}'),
    want: ['spec.rules[0].from[0].source.notIpBlocks[0]'],
  },
  {
    name: 'an empty principal',
    yaml: ap('rules:\n- from:\n  - source: {principals: [""]}'),
    want: ['spec.rules[0].from[0].source.principals[0]'],
  },
  {
    name: 'a wildcard in the middle of a principal',
    yaml: ap('rules:\n- from:\n  - source: {principals: ["cluster.local/*/sa/x"]}'),
    want: ['spec.rules[0].from[0].source.principals[0]'],
  },
  {
    name: 'wildcards on both ends of a namespace',
    yaml: ap('rules:\n- from:\n  - source: {namespaces: ["*foo*"]}'),
    want: ['spec.rules[0].from[0].source.namespaces[0]'],
  },
  {
    name: 'serviceAccounts together with namespaces',
    yaml: ap('rules:\n- from:\n  - source: {serviceAccounts: ["bar/sa"], namespaces: ["bar"]}'),
    want: ['spec.rules[0].from[0].source.serviceAccounts'],
  },
  {
    name: 'an unsupported path template',
    yaml: ap('rules:\n- to:\n  - operation: {paths: ["/{foo}/{*}"]}'),
    want: ['spec.rules[0].to[0].operation.paths[0]'],
  },

  // Conditions
  {
    name: 'an unknown condition key',
    yaml: ap('rules:\n- when:\n  - {key: source.foo, values: ["a"]}'),
    want: ['spec.rules[0].when[0].key'],
    message: /unknown attribute/,
  },
  {
    name: 'a condition without values or notValues',
    yaml: ap('rules:\n- when:\n  - {key: source.ip}'),
    want: ['spec.rules[0].when[0]'],
  },
  {
    name: 'a condition without a key',
    yaml: ap('rules:\n- when:\n  - {values: ["a"]}'),
    want: ['spec.rules[0].when[0].key'],
  },
  {
    name: 'a source.ip condition with a bad address',
    yaml: ap('rules:\n- when:\n  - {key: source.ip, values: ["1.2.3.4", "999.1.1.1"]}'),
    want: ['spec.rules[0].when[0].values[1]'],
  },
  {
    name: 'a destination.port condition with a name',
    yaml: ap('rules:\n- when:\n  - {key: destination.port, notValues: ["https"]}'),
    want: ['spec.rules[0].when[0].notValues[0]'],
  },
  {
    name: 'a request.headers key without a header name',
    yaml: ap('rules:\n- when:\n  - {key: request.headers, values: ["a"]}'),
    want: ['spec.rules[0].when[0].key'],
  },
  {
    name: 'the retired destination.labels key',
    yaml: ap('rules:\n- when:\n  - {key: "destination.labels[app]", values: ["a"]}'),
    want: ['spec.rules[0].when[0].key'],
  },

  // Metadata and envelope
  {
    name: 'a dry-run annotation on an AUDIT policy',
    yaml: ap('action: AUDIT\nrules:\n- {}', 'name: test\n  annotations: {"istio.io/dry-run": "true"}'),
    want: ['metadata.annotations["istio.io/dry-run"]'],
  },
  {
    name: 'a dry-run annotation that is not a boolean',
    yaml: ap('rules:\n- {}', 'name: test\n  annotations: {"istio.io/dry-run": "maybe"}'),
    want: ['metadata.annotations["istio.io/dry-run"]'],
  },
  {
    name: 'the v1alpha1 apiVersion',
    yaml: ap('').replace('security.istio.io/v1', 'security.istio.io/v1alpha1'),
    want: ['apiVersion'],
  },
  {
    name: 'several problems at once',
    yaml: ap(
      'action: DENY\nrules:\n- from: []\n  to:\n  - operation: {ports: ["x"]}\n- when:\n  - {key: bogus, values: ["1"]}',
    ),
    want: ['spec.rules[0].from', 'spec.rules[0].to[0].operation.ports[0]', 'spec.rules[1].when[0].key'],
  },
];

describe('validation: AuthorizationPolicy', () => {
  runCases(cases);
});
