/**
 * Property-based fuzzing of the validation entry point (fast-check): any
 * JSON-ish document, documents of every supported kind with arbitrary
 * fields, and mutations of the valid fixtures (a value replaced, a key
 * removed, a key added) give a result, never an exception; an invalid
 * result names at least one field path and a message for each problem.
 * Seeds are fixed so a failure reproduces; fast-check prints the
 * counterexample and its seed/path.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { validatedKinds, validateDocument, type ValidationResult } from '../../../../../src/istiod/config/validation/index.js';

/** Runs per property; the report states them. */
export const VALIDATOR_FUZZ_RUNS = { arbitrary: 2000, perKind: 300, mutations: 3000 } as const;

/** Valid objects of the kinds the fixtures and examples lack, rich enough to reach the nested validators. */
const SEEDS = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio}
spec: {controllerName: istio.io/gateway-controller, parametersRef: {group: "", kind: ConfigMap, name: p, namespace: istio-system}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: demo}
spec:
  gatewayClassName: istio
  addresses: [{type: Hostname, value: gw.example.com}]
  listeners:
  - {name: http, hostname: "*.example.com", port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}, kinds: [{kind: HTTPRoute}]}}
  - name: https
    port: 443
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: cert}], options: {example.com/x: y}}
  - {name: mesh, port: 15008, protocol: HBONE}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: demo}
spec:
  parentRefs: [{name: bookinfo-gateway, sectionName: http}, {name: bookinfo-gateway, sectionName: https}]
  hostnames: [bookinfo.example.com]
  rules:
  - name: api
    matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-user, value: jason}]
      queryParams: [{type: RegularExpression, name: q, value: "a.*"}]
      method: GET
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: b}], remove: [x-c]}}
    - {type: URLRewrite, urlRewrite: {hostname: internal.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: shadow, port: 9080}, fraction: {numerator: 1, denominator: 10}}}
    backendRefs:
    - {name: reviews-v1, port: 9080, weight: 90}
    - {name: reviews-v2, port: 9080, weight: 10, filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-v, value: "2"}]}}]}
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {codes: [503], attempts: 2, backoff: 100ms}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: demo}
spec:
  parentRefs: [{name: bookinfo-gateway}]
  rules:
  - matches: [{method: {service: echo.Echo, method: Ping}, headers: [{name: x-a, value: b}]}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-a, value: b}]}}]
    backendRefs: [{name: echo, port: 7070}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: mongo, namespace: demo}
spec:
  parentRefs: [{name: tcp-gateway, sectionName: mongo}]
  rules: [{backendRefs: [{name: mongo, port: 27017}]}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-demo, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}]
  to: [{group: "", kind: Service, name: reviews}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: demo}
spec:
  hosts: [reviews]
  gateways: [mesh]
  http:
  - match:
    - uri: {prefix: /api}
      headers: {x-user: {exact: jason}}
      method: {regex: "GET|POST"}
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 75
    - destination: {host: reviews, subset: v2}
      weight: 25
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure"}
    timeout: 10s
    fault: {delay: {percentage: {value: 10}, fixedDelay: 5s}}
  tcp:
  - match: [{port: 27017}]
    route: [{destination: {host: mongo, port: {number: 27017}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: demo}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    connectionPool: {tcp: {maxConnections: 100, connectTimeout: 1s}, http: {http1MaxPendingRequests: 10}}
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: demo}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["demo/*.example.com"]
    tls: {mode: SIMPLE, credentialName: example-cert}
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: demo}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: TLS}]
  location: MESH_EXTERNAL
  resolution: DNS
  endpoints: [{address: api.example.com, ports: {https: 8443}}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: demo}
spec:
  address: 10.0.5.7
  labels: {app: legacy}
  serviceAccount: legacy
  ports: {http: 8080}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: rich, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/demo/sa/frontend], namespaces: [demo], ipBlocks: [10.0.0.0/8], notIpBlocks: [10.1.0.0/16]}
    to:
    - operation: {ports: ["8080", "9090"], notPorts: ["22"]}
    when:
    - key: source.ip
      values: [10.0.0.1]
`;

function validFixtures(): unknown[] {
  const dir = fileURLToPath(new URL('../../../../fixtures/validate/valid/', import.meta.url));
  const examples = fileURLToPath(new URL('../../../../../examples/', import.meta.url));
  const out: unknown[] = parseAllDocuments(SEEDS).map((d) => d.toJS() as unknown);
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) {
        for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) if (doc.errors.length === 0) out.push(doc.toJS());
      }
    }
  };
  walk(dir);
  walk(examples);
  // The examples also hold a node tokens file, which is not a configuration object.
  return out.filter((d) => d !== null && typeof d === 'object' && 'kind' in d);
}

/** Calls the entry point; any exception fails the property with the document that caused it. */
function check(doc: unknown): ValidationResult {
  let r: ValidationResult;
  try {
    r = validateDocument(doc, { source: 'fuzz' });
  } catch (err) {
    throw new Error(`validateDocument threw ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
  }
  if (r.kind === 'invalid') {
    assert.ok(r.errors.length > 0, 'an invalid result names no problem');
    for (const e of r.errors) {
      assert.equal(typeof e.path, 'string');
      assert.equal(typeof e.message, 'string');
      assert.ok(e.path.length > 0 && e.message.length > 0, JSON.stringify(e));
    }
  } else {
    assert.equal(typeof r.object.kind, 'string');
  }
  return r;
}

/** Values that break careless code: prototype keys, numbers at the edges, deep nesting, odd strings. */
const nasty = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    0,
    -0,
    -1,
    1.5,
    65535,
    65536,
    2 ** 53,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    '*',
    ' ',
    '0',
    '10.0.0.0/33',
    '::ffff:1.2.3.4',
    'a'.repeat(10_000),
    '\u0000',
    'toString',
    '__proto__',
    'constructor',
    [],
    [null],
    {},
    { length: 3 },
    Object.create(null) as object,
    JSON.parse('{"__proto__": {"polluted": true}}') as object,
    { toString: 'x', valueOf: 1, hasOwnProperty: null },
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
);

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, nasty, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(
    fc.oneof(fc.string(), fc.constantFrom('spec', 'metadata', 'name', 'namespace', 'selector', 'rules', 'ports', 'hosts', '__proto__', 'constructor')),
    tie('value'),
    { maxKeys: 6 },
  ),
})).value;

describe('validation: property-based fuzzing (fast-check)', function () {
  this.timeout(120_000);

  it(`any JSON-ish document gives a result, never an exception (${VALIDATOR_FUZZ_RUNS.arbitrary} runs)`, () => {
    fc.assert(
      fc.property(jsonish, (doc) => {
        check(doc);
      }),
      { numRuns: VALIDATOR_FUZZ_RUNS.arbitrary, seed: 9001 },
    );
  });

  for (const { kind, apiKind, apiVersions } of validatedKinds()) {
    it(`${kind}: arbitrary metadata, spec and status under a valid apiVersion give typed problems only (${VALIDATOR_FUZZ_RUNS.perKind} runs)`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...apiVersions),
          fc.oneof(jsonish, fc.record({ name: fc.oneof(fc.constantFrom('a', 'web', 'x-1'), nasty), namespace: fc.oneof(fc.constant('demo'), nasty), labels: jsonish, annotations: jsonish }, { requiredKeys: [] })),
          jsonish,
          fc.option(jsonish),
          (apiVersion, metadata, spec, status) => {
            check({ apiVersion, kind: apiKind, metadata, spec, ...(status === null ? {} : { status }) });
          },
        ),
        { numRuns: VALIDATOR_FUZZ_RUNS.perKind, seed: 424242 },
      );
    });
  }

  it(`mutations of the valid fixtures (value replaced, key removed, key added) give typed problems only (${VALIDATOR_FUZZ_RUNS.mutations} runs)`, () => {
    const docs = validFixtures();
    assert.ok(docs.length >= 15, `only ${docs.length} valid fixture documents`);
    for (const d of docs) {
      const r = check(d);
      assert.equal(r.kind, 'valid', `seed ${JSON.stringify(d).slice(0, 100)}: ${r.kind === 'invalid' ? JSON.stringify(r.errors) : ''}`);
    }
    const groupOf = (v: string): string => (v.includes('/') ? v.slice(0, v.indexOf('/')) : '');
    const kinds = new Set(docs.map((d) => { const { kind, apiVersion } = d as { kind: string; apiVersion: string }; return `${groupOf(apiVersion)}/${kind}`; }));
    assert.deepEqual([...kinds].sort(), validatedKinds().map((k) => `${k.group}/${k.apiKind}`).sort(), 'a seed of every kind');
    const paths = docs.map((d) => allPaths(d));
    const mutation = fc
      .nat(docs.length - 1)
      .chain((i) =>
        fc.record({
          doc: fc.constant(i),
          path: fc.constantFrom(...(paths[i] ?? [[]])),
          op: fc.constantFrom('replace', 'delete', 'add'),
          value: jsonish,
          key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'port', 'name')),
        }),
      );
    fc.assert(
      fc.property(mutation, (m) => {
        check(mutate(docs[m.doc], m.path, m.op, m.value, m.key));
      }),
      { numRuns: VALIDATOR_FUZZ_RUNS.mutations, seed: 7 },
    );
  });
});

type Path = readonly (string | number)[];

function allPaths(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...allPaths(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...allPaths(x, [...prefix, k]));
  return out;
}

function mutate(root: unknown, path: Path, op: 'replace' | 'delete' | 'add', value: unknown, key: string): unknown {
  if (path.length === 0) return op === 'replace' ? value : root;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (op === 'replace') parent[last] = value;
  else if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (Array.isArray(target)) target.push(value);
    else if (typeof target === 'object' && target !== null) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    else parent[last] = value;
  }
  return copy;
}
