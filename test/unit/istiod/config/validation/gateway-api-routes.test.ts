import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const V1 = 'gateway.networking.k8s.io/v1';
const http = (spec: string): string => doc(V1, 'HTTPRoute', spec);
/** An HTTPRoute attached to the bookinfo gateway with one rule (YAML under `- `). */
const rule = (r: string): string => http(`parentRefs: [{name: bookinfo-gateway}]\nrules:\n- ${r.replace(/\n/g, '\n  ')}`);
const grpc = (spec: string, v = V1): string => doc(v, 'GRPCRoute', spec);
const tcp = (spec: string): string => doc('gateway.networking.k8s.io/v1alpha2', 'TCPRoute', spec);
const grant = (spec: string): string => doc('gateway.networking.k8s.io/v1beta1', 'ReferenceGrant', spec);
const svc = '{name: reviews, port: 9080}';

const httpCases: ValidationCase[] = [
  // Istio's samples/bookinfo/gateway-api/bookinfo-gateway.yaml (the route part)
  {
    name: 'the bookinfo route: exact and prefix matches to productpage',
    yaml: http(
      'parentRefs:\n- name: bookinfo-gateway\nrules:\n- matches:\n  - path: {type: Exact, value: /productpage}\n  - path: {type: PathPrefix, value: /static}\n  - path: {type: Exact, value: /login}\n  - path: {type: Exact, value: /logout}\n  - path: {type: PathPrefix, value: /api/v1/products}\n  backendRefs:\n  - name: productpage\n    port: 9080',
    ),
    want: 'valid',
    check: (o) => assert.equal(o.kind, 'HTTPRoute'),
  },
  // samples/bookinfo/gateway-api/route-reviews-90-10.yaml
  {
    name: 'reviews 90/10 attached to the reviews Service (a mesh route)',
    yaml: http('parentRefs:\n- group: ""\n  kind: Service\n  name: reviews\n  port: 9080\nrules:\n- backendRefs:\n  - {name: reviews-v1, port: 9080, weight: 90}\n  - {name: reviews-v2, port: 9080, weight: 10}'),
    want: 'valid',
  },
  { name: 'a v1beta1 route with hostnames and no rules (the default rule)', yaml: doc('gateway.networking.k8s.io/v1beta1', 'HTTPRoute', 'parentRefs: [{name: gw}]\nhostnames: ["*.example.com", bookinfo.example.com]'), want: 'valid' },
  {
    name: 'a redirect to https with a prefix replacement on one PathPrefix match',
    yaml: rule('matches: [{path: {type: PathPrefix, value: /old}}]\nfilters:\n- type: RequestRedirect\n  requestRedirect: {scheme: https, hostname: www.example.com, statusCode: 301, port: 443, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}'),
    want: 'valid',
  },
  {
    name: 'a CORS filter and a regular-expression path',
    yaml: rule(`matches: [{path: {type: RegularExpression, value: "/v[0-9]+/.*"}, method: POST}]\nfilters: [{type: CORS, cors: {allowOrigins: ["https://a.example.com"], allowMethods: [GET, POST], maxAge: 60}}]\nbackendRefs: [${svc}]`),
    want: 'valid',
  },
  { name: 'no spec', yaml: http(''), want: ['spec'] },
  { name: 'a hostname with a port', yaml: http('hostnames: ["a.example.com:80"]'), want: ['spec.hostnames[0]'] },
  { name: 'more than 16 hostnames', yaml: http(`hostnames: [${Array.from({ length: 17 }, (_, i) => `h${i}.example.com`).join(', ')}]`), want: ['spec.hostnames'] },
  { name: 'more than 16 rules', yaml: http(`rules: [${Array.from({ length: 17 }, () => `{backendRefs: [${svc}]}`).join(', ')}]`), want: ['spec.rules'] },
  {
    name: 'more than 64 matches in a rule',
    yaml: rule(`matches: [${Array.from({ length: 65 }, (_, i) => `{path: {value: /p${i}}}`).join(', ')}]`),
    want: ['spec.rules[0].matches'],
  },
  { name: 'a parentRef without a name', yaml: http('parentRefs: [{kind: Gateway}]'), want: ['spec.parentRefs[0].name'] },
  {
    name: 'CEL: two references to one parent need a sectionName or port',
    yaml: http('parentRefs: [{name: gw, sectionName: http}, {name: gw}]'),
    want: ['spec.parentRefs[1].sectionName'],
  },
  {
    name: 'CEL: two references to one parent with the same sectionName',
    yaml: http('parentRefs: [{name: gw, sectionName: http}, {name: gw, sectionName: http}, {name: gw, namespace: other}]'),
    want: ['spec.parentRefs[1].sectionName'],
  },
  { name: 'a parentRef port out of range', yaml: http('parentRefs: [{name: gw, port: 70000}]'), want: ['spec.parentRefs[0].port'] },
  { name: 'a path not starting with /', yaml: rule('matches: [{path: {type: PathPrefix, value: api}}]'), want: ['spec.rules[0].matches[0].path.value'], message: /start with "\/"/ },
  {
    name: "CEL: PathPrefix and Exact paths without '//', '/./', '%2F', '#' or a trailing '/..'",
    yaml: rule('matches:\n- path: {value: /a//b}\n- path: {type: Exact, value: /a/./b}\n- path: {value: /a%2Fb}\n- path: {value: "/a#b"}\n- path: {value: /a/..}\n- path: {value: "/a b"}'),
    want: ['spec.rules[0].matches[0].path.value', 'spec.rules[0].matches[1].path.value', 'spec.rules[0].matches[2].path.value', 'spec.rules[0].matches[3].path.value', 'spec.rules[0].matches[4].path.value', 'spec.rules[0].matches[5].path.value'],
  },
  { name: 'an unknown path match type', yaml: rule('matches: [{path: {type: Prefix, value: /}}]'), want: ['spec.rules[0].matches[0].path.type'] },
  {
    name: 'header matches: unknown type, missing value, bad name, duplicate name',
    yaml: rule('matches:\n- headers:\n  - {type: Prefix, name: a, value: b}\n  - {name: "x y", value: b}\n  - {name: c}\n  - {name: C, value: d}'),
    want: ['spec.rules[0].matches[0].headers[0].type', 'spec.rules[0].matches[0].headers[1].name', 'spec.rules[0].matches[0].headers[2].value', 'spec.rules[0].matches[0].headers[3].name'],
  },
  { name: 'an unknown method', yaml: rule('matches: [{method: FETCH}]'), want: ['spec.rules[0].matches[0].method'] },
  { name: 'an unknown filter type', yaml: rule('filters: [{type: Rewrite}]'), want: ['spec.rules[0].filters[0].type'] },
  {
    name: 'CEL: a filter needs its own sub-object and no other',
    yaml: rule(`filters:\n- type: RequestHeaderModifier\n- {type: URLRewrite, requestHeaderModifier: {set: [{name: a, value: b}]}, urlRewrite: {hostname: a.example.com}}\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0].requestHeaderModifier', 'spec.rules[0].filters[1].requestHeaderModifier'],
  },
  {
    name: 'CEL: RequestRedirect and URLRewrite not both in a rule',
    yaml: rule('filters:\n- {type: RequestRedirect, requestRedirect: {scheme: https}}\n- {type: URLRewrite, urlRewrite: {hostname: a.example.com}}'),
    want: ['spec.rules[0].filters[1]'],
  },
  {
    name: 'CEL: RequestRedirect not together with backendRefs',
    yaml: rule(`filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0]'],
  },
  {
    name: 'CEL: a header modifier filter cannot be repeated',
    yaml: rule(`filters:\n- {type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}}\n- {type: RequestHeaderModifier, requestHeaderModifier: {remove: [b]}}\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[1].type'],
  },
  {
    name: 'CEL: ReplacePrefixMatch needs exactly one PathPrefix match',
    yaml: rule(`matches: [{path: {type: Exact, value: /a}}]\nfilters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}]\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0].urlRewrite.path'],
  },
  {
    name: 'CEL: the path modifier type and its value agree',
    yaml: rule('filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replacePrefixMatch: /b}}}]'),
    want: ['spec.rules[0].filters[0].requestRedirect.path.replaceFullPath', 'spec.rules[0].filters[0].requestRedirect.path.replacePrefixMatch'],
  },
  {
    name: 'a redirect status code other than 301/302 and an unknown scheme',
    yaml: rule('filters: [{type: RequestRedirect, requestRedirect: {statusCode: 307, scheme: ftp}}]'),
    want: ['spec.rules[0].filters[0].requestRedirect.statusCode', 'spec.rules[0].filters[0].requestRedirect.scheme'],
  },
  {
    name: 'a rewrite hostname with a wildcard',
    yaml: rule(`filters: [{type: URLRewrite, urlRewrite: {hostname: "*.example.com"}}]\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0].urlRewrite.hostname'],
  },
  {
    name: 'a mirror without a backendRef, with percent and fraction',
    yaml: rule(`filters: [{type: RequestMirror, requestMirror: {percent: 10, fraction: {numerator: 20, denominator: 10}}}]\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0].requestMirror.backendRef', 'spec.rules[0].filters[0].requestMirror.fraction', 'spec.rules[0].filters[0].requestMirror.fraction.numerator'],
  },
  {
    name: "CEL: allowMethods cannot mix '*' with methods",
    yaml: rule(`filters: [{type: CORS, cors: {allowMethods: ["*", GET]}}]\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0].cors.allowMethods'],
  },
  {
    name: 'an extensionRef filter needs group, kind and name',
    yaml: rule(`filters: [{type: ExtensionRef, extensionRef: {name: x}}]\nbackendRefs: [${svc}]`),
    want: ['spec.rules[0].filters[0].extensionRef.group', 'spec.rules[0].filters[0].extensionRef.kind'],
  },
  { name: 'CEL: a Service backend needs a port', yaml: rule('backendRefs: [{name: reviews}]'), want: ['spec.rules[0].backendRefs[0].port'] },
  { name: 'a non-Service backend does not need a port', yaml: rule('backendRefs: [{group: networking.istio.io, kind: Hostname, name: reviews.example.com}]'), want: 'valid' },
  {
    name: 'weights outside 0..1000000 and a backend port 0',
    yaml: rule('backendRefs: [{name: a, port: 80, weight: -1}, {name: b, port: 80, weight: 1000001}, {name: c, port: 0}]'),
    want: ['spec.rules[0].backendRefs[0].weight', 'spec.rules[0].backendRefs[1].weight', 'spec.rules[0].backendRefs[2].port'],
  },
  { name: 'more than 16 backendRefs', yaml: rule(`backendRefs: [${Array.from({ length: 17 }, (_, i) => `{name: b${i}, port: 80}`).join(', ')}]`), want: ['spec.rules[0].backendRefs'] },
  {
    name: 'CEL: backendRef filters follow the same rules',
    yaml: rule('backendRefs: [{name: a, port: 80, filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}, {type: URLRewrite, urlRewrite: {hostname: b.example.com}}]}]'),
    want: ['spec.rules[0].backendRefs[0].filters[1]'],
  },
  {
    name: 'timeouts: a bad duration, and backendRequest longer than request',
    yaml: http(`rules:\n- {timeouts: {request: 1 second}, backendRefs: [${svc}]}\n- {timeouts: {request: 1s, backendRequest: 2s}, backendRefs: [${svc}]}`),
    want: ['spec.rules[0].timeouts.request', 'spec.rules[1].timeouts.backendRequest'],
  },
  { name: 'retry codes outside 400..599', yaml: rule(`retry: {codes: [302]}\nbackendRefs: [${svc}]`), want: ['spec.rules[0].retry.codes[0]'] },
  { name: 'CEL: rule names unique', yaml: http(`rules: [{name: a, backendRefs: [${svc}]}, {name: a, backendRefs: [${svc}]}]`), want: ['spec.rules[1].name'] },
];

const grpcCases: ValidationCase[] = [
  {
    name: 'a GRPCRoute by service and method with a header match',
    yaml: grpc(`parentRefs: [{name: gw}]\nhostnames: [grpc.example.com]\nrules:\n- matches: [{method: {service: com.example.User, method: Login}, headers: [{name: x-a, value: b}]}]\n  backendRefs: [{name: user, port: 50051}]`),
    want: 'valid',
    check: (o) => assert.equal(o.kind, 'GRPCRoute'),
  },
  { name: 'a v1alpha2 GRPCRoute matching by regular expression', yaml: grpc('rules: [{matches: [{method: {type: RegularExpression, service: ".*"}}], backendRefs: [{name: s, port: 80}]}]', 'gateway.networking.k8s.io/v1alpha2'), want: 'valid' },
  { name: "CEL: a method match needs 'service' or 'method'", yaml: grpc('rules: [{matches: [{method: {type: Exact}}]}]'), want: ['spec.rules[0].matches[0].method'] },
  {
    name: 'CEL: Exact service and method names are checked',
    yaml: grpc('rules: [{matches: [{method: {service: "com/example", method: "Log-in"}}]}]'),
    want: ['spec.rules[0].matches[0].method.service', 'spec.rules[0].matches[0].method.method'],
  },
  { name: 'a filter type GRPCRoute does not have', yaml: grpc('rules: [{filters: [{type: URLRewrite}]}]'), want: ['spec.rules[0].filters[0].type'] },
  {
    name: 'CEL: a gRPC header modifier cannot be repeated and needs its sub-object',
    yaml: grpc('rules: [{filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a]}}, {type: ResponseHeaderModifier}]}]'),
    want: ['spec.rules[0].filters[1].responseHeaderModifier', 'spec.rules[0].filters[1].type'],
  },
  { name: 'a gRPC Service backend without a port', yaml: grpc('rules: [{backendRefs: [{name: s}]}]'), want: ['spec.rules[0].backendRefs[0].port'] },
];

const tcpCases: ValidationCase[] = [
  { name: 'a TCPRoute to mongo on a gateway listener', yaml: tcp('parentRefs: [{name: tcp-gateway, sectionName: mongo}]\nrules: [{backendRefs: [{name: mongo, port: 27017}]}]'), want: 'valid', check: (o) => assert.equal(o.kind, 'TCPRoute') },
  { name: 'a TCPRoute without rules', yaml: tcp('parentRefs: [{name: gw}]'), want: ['spec.rules'] },
  { name: 'a TCPRoute rule without backendRefs', yaml: tcp('rules: [{name: a}]'), want: ['spec.rules[0].backendRefs'] },
  { name: 'a TCPRoute rule with an empty backendRefs list', yaml: tcp('rules: [{backendRefs: []}]'), want: ['spec.rules[0].backendRefs'] },
  { name: 'CEL: a TCPRoute Service backend needs a port', yaml: tcp('rules: [{backendRefs: [{name: mongo}]}]'), want: ['spec.rules[0].backendRefs[0].port'] },
  { name: 'TCPRoute has no matches', yaml: tcp('rules: [{matches: [], backendRefs: [{name: a, port: 1}]}]'), want: ['spec.rules[0].matches'] },
  { name: 'TCPRoute is not served at v1beta1', yaml: doc('gateway.networking.k8s.io/v1beta1', 'TCPRoute', 'rules: [{backendRefs: [{name: a, port: 1}]}]'), want: ['apiVersion'] },
];

const grantCases: ValidationCase[] = [
  {
    name: 'a ReferenceGrant letting HTTPRoutes in demo reach Services here',
    yaml: grant('from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}]\nto: [{group: "", kind: Service}, {group: "", kind: Secret, name: cert}]'),
    want: 'valid',
    check: (o) => assert.equal(o.kind, 'ReferenceGrant'),
  },
  { name: 'a v1alpha2 ReferenceGrant', yaml: doc('gateway.networking.k8s.io/v1alpha2', 'ReferenceGrant', 'from: [{group: "", kind: Gateway, namespace: a}]\nto: [{group: "", kind: Secret}]'), want: 'valid' },
  { name: 'a ReferenceGrant without from and to', yaml: grant('from: []'), want: ['spec.from', 'spec.to'] },
  {
    name: 'from entries need group, kind and namespace',
    yaml: grant('from: [{kind: HTTPRoute}]\nto: [{group: "", kind: Service}]'),
    want: ['spec.from[0].group', 'spec.from[0].namespace'],
  },
  { name: 'a to entry without a kind', yaml: grant('from: [{group: "", kind: Gateway, namespace: a}]\nto: [{group: ""}]'), want: ['spec.to[0].kind'] },
  { name: 'more than 16 from entries', yaml: grant(`from: [${Array.from({ length: 17 }, (_, i) => `{group: "", kind: Gateway, namespace: n${i}}`).join(', ')}]\nto: [{group: "", kind: Service}]`), want: ['spec.from'] },
  { name: 'a from namespace that is not a DNS label and a bad kind', yaml: grant('from: [{group: "", kind: "1Route", namespace: My_NS}]\nto: [{group: "", kind: Service}]'), want: ['spec.from[0].kind', 'spec.from[0].namespace'] },
];

describe('validation: Gateway API HTTPRoute', () => {
  runCases(httpCases);
});
describe('validation: Gateway API GRPCRoute', () => {
  runCases(grpcCases);
});
describe('validation: Gateway API TCPRoute', () => {
  runCases(tcpCases);
});
describe('validation: Gateway API ReferenceGrant', () => {
  runCases(grantCases);
});
