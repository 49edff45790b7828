import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const vs = (spec: string): string => doc('networking.istio.io/v1', 'VirtualService', spec);
/** A VirtualService for `reviews` whose single HTTP route is `route`. */
const http = (route: string): string => vs(`hosts: [reviews]\nhttp:\n- ${route.replace(/\n/g, '\n  ')}`);

const cases: ValidationCase[] = [
  {
    name: 'a weighted split that sums to 100',
    yaml: http(
      'route:\n- destination: {host: reviews, subset: v1}\n  weight: 75\n- destination: {host: reviews, subset: v2}\n  weight: 25',
    ),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'VirtualService');
      assert.deepEqual((o.spec as { hosts?: string[] }).hosts, ['reviews']);
    },
  },
  {
    name: 'relative weights that sum to less than 100',
    yaml: http('route:\n- destination: {host: a}\n  weight: 1\n- destination: {host: b}\n  weight: 2'),
    want: 'valid',
  },
  {
    name: 'relative weights that sum to more than 100',
    yaml: http('route:\n- destination: {host: a}\n  weight: 90\n- destination: {host: b}\n  weight: 90'),
    want: 'valid',
  },
  {
    name: 'a single destination with weight 0',
    yaml: http('route:\n- destination: {host: a}\n  weight: 0'),
    want: 'valid',
  },
  {
    name: 'matches, retries, timeout and fault',
    yaml: http(`match:
- uri: {prefix: /api}
  headers: {x-user: {exact: jason}, x-any: {}}
  method: {regex: "GET|POST"}
  queryParams: {q: {exact: "1"}}
  port: 9080
route:
- destination: {host: reviews.default.svc.cluster.local, port: {number: 9080}}
timeout: 10s
retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure,503"}
fault:
  delay: {fixedDelay: 100ms, percentage: {value: 0.5}}
  abort: {httpStatus: 503, percentage: {value: 10}}`),
    want: 'valid',
  },
  {
    name: 'a redirect',
    yaml: http('redirect: {uri: /v2, authority: new.example.com, redirectCode: 308}'),
    want: 'valid',
  },
  {
    name: 'a direct response',
    yaml: http('directResponse: {status: 404, body: {string: "not here"}}'),
    want: 'valid',
  },
  {
    name: 'a rewrite with a route',
    yaml: http('rewrite: {uri: /}\nroute:\n- destination: {host: a}'),
    want: 'valid',
  },
  {
    name: 'headers manipulation',
    yaml: http(
      'headers:\n  request: {set: {x-a: "1"}, remove: [x-b]}\n  response: {add: {x-c: "2"}}\nroute:\n- destination: {host: a}',
    ),
    want: 'valid',
  },
  {
    name: 'a CORS policy',
    yaml: http(
      'corsPolicy:\n  allowOrigins: [{exact: "https://a.com"}]\n  allowMethods: [GET, POST]\n  allowHeaders: ["*"]\n  maxAge: 24h\nroute:\n- destination: {host: a}',
    ),
    want: 'valid',
  },
  {
    name: 'mirroring',
    yaml: http('route:\n- destination: {host: a}\nmirror: {host: b}\nmirrorPercentage: {value: 50}'),
    want: 'valid',
  },
  {
    name: 'a gateway-bound VirtualService with a namespaced gateway',
    yaml: vs(
      'hosts: ["*.example.com"]\ngateways: [istio-system/ingress]\nhttp:\n- route:\n  - destination: {host: web}',
    ),
    want: 'valid',
  },
  {
    name: 'a TCP route',
    yaml: vs(
      'hosts: [db]\ntcp:\n- match:\n  - {port: 5432, destinationSubnets: [10.0.0.0/8]}\n  route:\n  - destination: {host: db, port: {number: 5432}}',
    ),
    want: 'valid',
  },
  {
    name: 'a TLS route by SNI',
    yaml: vs(
      'hosts: ["*.example.com"]\ngateways: [ingress]\ntls:\n- match:\n  - sniHosts: [a.example.com]\n  route:\n  - destination: {host: a}',
    ),
    want: 'valid',
  },
  {
    name: 'the v1beta1 apiVersion',
    yaml: http('route:\n- destination: {host: a}').replace('/v1\n', '/v1beta1\n'),
    want: 'valid',
  },

  { name: 'no hosts: a delegate with HTTP routes', yaml: vs('http:\n- route:\n  - destination: {host: a}'), want: 'valid' },
  {
    name: 'a delegate (no hosts) with gateways',
    yaml: vs('gateways: [ingress]\nhttp:\n- route:\n  - destination: {host: a}'),
    want: ['spec.gateways'],
  },
  { name: 'a delegate (no hosts) with a tcp route', yaml: vs('tcp:\n- route:\n  - destination: {host: a}'), want: ['spec.tcp'] },
  { name: 'no routes of any type', yaml: vs('hosts: [a]'), want: ['spec'] },
  {
    name: 'all-zero weights across two destinations',
    yaml: http('route:\n- destination: {host: a}\n  weight: 0\n- destination: {host: b}\n  weight: 0'),
    want: ['spec.http[0].route'],
  },
  {
    name: 'a negative weight',
    yaml: http('route:\n- destination: {host: a}\n  weight: -10\n- destination: {host: b}\n  weight: 110'),
    want: ['spec.http[0].route[0].weight'],
  },
  {
    name: 'a weight given as text',
    yaml: http('route:\n- destination: {host: a}\n  weight: "50"'),
    want: ['spec.http[0].route[0].weight'],
  },
  {
    name: 'a destination without a host',
    yaml: http('route:\n- destination: {subset: v1}'),
    want: ['spec.http[0].route[0].destination.host'],
  },
  {
    name: 'a route entry without a destination',
    yaml: http('route:\n- weight: 100'),
    want: ['spec.http[0].route[0].destination'],
  },
  {
    name: 'a destination host of *',
    yaml: http('route:\n- destination: {host: "*"}'),
    want: ['spec.http[0].route[0].destination.host'],
  },
  {
    name: 'a subset that is not a DNS label',
    yaml: http('route:\n- destination: {host: a, subset: V_1}'),
    want: ['spec.http[0].route[0].destination.subset'],
  },
  {
    name: 'a destination port of 0',
    yaml: http('route:\n- destination: {host: a, port: {number: 0}}'),
    want: ['spec.http[0].route[0].destination.port.number'],
  },
  {
    name: 'a route with neither route, redirect nor directResponse',
    yaml: http('timeout: 1s'),
    want: ['spec.http[0]'],
  },
  {
    name: 'both route and redirect',
    yaml: http('redirect: {uri: /x}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].redirect'],
  },
  {
    name: 'both redirect and directResponse',
    yaml: http('redirect: {uri: /x}\ndirectResponse: {status: 200}'),
    want: ['spec.http[0].directResponse'],
  },
  {
    name: 'a redirect with a rewrite',
    yaml: http('redirect: {uri: /x}\nrewrite: {uri: /y}'),
    want: ['spec.http[0].rewrite'],
  },
  { name: 'an empty redirect', yaml: http('redirect: {redirectCode: 301}'), want: ['spec.http[0].redirect'] },
  {
    name: 'a redirect code outside 3xx',
    yaml: http('redirect: {uri: /a, redirectCode: 200}'),
    want: ['spec.http[0].redirect.redirectCode'],
  },
  {
    name: 'a redirect scheme other than http(s)',
    yaml: http('redirect: {uri: /a, scheme: ftp}'),
    want: ['spec.http[0].redirect.scheme'],
  },
  {
    name: 'a direct response status of 100',
    yaml: http('directResponse: {status: 100}'),
    want: ['spec.http[0].directResponse.status'],
  },
  {
    name: 'a StringMatch with both exact and prefix',
    yaml: http('match:\n- uri: {exact: /a, prefix: /b}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].uri'],
  },
  {
    name: 'an unknown StringMatch type',
    yaml: http('match:\n- uri: {suffix: /a}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].uri.suffix'],
  },
  {
    name: 'an empty prefix match',
    yaml: http('match:\n- uri: {prefix: ""}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].uri.prefix'],
  },
  {
    name: 'an invalid regex',
    yaml: http('match:\n- uri: {regex: "(["}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].uri.regex'],
  },
  {
    name: 'a look-ahead regex RE2 cannot run',
    yaml: http('match:\n- authority: {regex: "a(?=b)"}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].authority.regex'],
  },
  {
    name: 'a header name with a space',
    yaml: http('match:\n- headers: {"x user": {exact: a}}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].headers["x user"]'],
  },
  {
    name: 'a match port above 65535',
    yaml: http('match:\n- port: 70000\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].match[0].port'],
  },
  {
    name: 'a timeout without a unit',
    yaml: http('timeout: "10"\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].timeout'],
  },
  {
    name: 'a timeout below 1ms',
    yaml: http('timeout: 500us\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].timeout'],
  },
  {
    name: 'negative retry attempts',
    yaml: http('retries: {attempts: -1}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].retries.attempts'],
  },
  {
    name: 'retry settings with attempts 0',
    yaml: http('retries: {attempts: 0, perTryTimeout: 1s}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].retries'],
  },
  {
    name: 'an unknown retryOn policy',
    yaml: http('retries: {attempts: 2, retryOn: "5xx,sometimes"}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].retries.retryOn'],
  },
  {
    name: 'a fault percentage above 100',
    yaml: http(
      'fault:\n  abort: {httpStatus: 500, percentage: {value: 101}}\nroute:\n- destination: {host: a}',
    ),
    want: ['spec.http[0].fault.abort.percentage.value'],
  },
  {
    name: 'a negative delay percentage',
    yaml: http(
      'fault:\n  delay: {fixedDelay: 1s, percentage: {value: -1}}\nroute:\n- destination: {host: a}',
    ),
    want: ['spec.http[0].fault.delay.percentage.value'],
  },
  {
    name: 'an empty fault',
    yaml: http('fault: {}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].fault'],
  },
  {
    name: 'an abort status outside 200..599',
    yaml: http('fault:\n  abort: {httpStatus: 700}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].fault.abort.httpStatus'],
  },
  {
    name: 'an unknown gRPC abort status',
    yaml: http('fault:\n  abort: {grpcStatus: BROKEN}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].fault.abort.grpcStatus'],
  },
  {
    name: 'a mirror percentage above 100',
    yaml: http('route:\n- destination: {host: a}\nmirror: {host: b}\nmirrorPercentage: {value: 150}'),
    want: ['spec.http[0].mirrorPercentage.value'],
  },
  {
    name: 'a CORS method that does not exist',
    yaml: http('corsPolicy: {allowMethods: [FETCH]}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].corsPolicy.allowMethods[0]'],
  },
  {
    name: 'a rewrite with both uri and uriRegexRewrite',
    yaml: http(
      'rewrite: {uri: /a, uriRegexRewrite: {match: "^/b", rewrite: /c}}\nroute:\n- destination: {host: a}',
    ),
    want: ['spec.http[0].rewrite'],
  },
  {
    name: 'removing the Host header',
    yaml: http('headers:\n  request: {remove: [host]}\nroute:\n- destination: {host: a}'),
    want: ['spec.http[0].headers.request.remove[0]'],
  },
  {
    name: 'a wildcard host bound to the mesh',
    yaml: vs('hosts: ["*"]\nhttp:\n- route:\n  - destination: {host: a}'),
    want: ['spec.hosts[0]'],
  },
  {
    name: 'a host with a wildcard in the middle',
    yaml: vs('hosts: ["foo.*.com"]\nhttp:\n- route:\n  - destination: {host: a}'),
    want: ['spec.hosts[0]'],
  },
  {
    name: 'duplicate hosts covered by a wildcard',
    yaml: vs('hosts: ["*.foo.com", "bar.foo.com"]\nhttp:\n- route:\n  - destination: {host: a}'),
    want: ['spec.hosts[1]'],
  },
  {
    name: 'a gateway reference with an empty name',
    yaml: vs('hosts: [a.com]\ngateways: ["ns/"]\nhttp:\n- route:\n  - destination: {host: a}'),
    want: ['spec.gateways[0]'],
  },
  {
    name: 'a gateway reference with an invalid namespace',
    yaml: vs('hosts: [a.com]\ngateways: ["bad_ns/gw"]\nhttp:\n- route:\n  - destination: {host: a}'),
    want: ['spec.gateways[0]'],
  },
  {
    name: 'a TCP route without destinations',
    yaml: vs('hosts: [db]\ntcp:\n- match:\n  - port: 5432'),
    want: ['spec.tcp[0].route'],
  },
  {
    name: 'a TCP match with a bad subnet',
    yaml: vs(
      'hosts: [db]\ntcp:\n- match:\n  - destinationSubnets: [10.0.0.0/33]\n  route:\n  - destination: {host: db}',
    ),
    want: ['spec.tcp[0].match[0].destinationSubnets[0]'],
  },
  {
    name: 'a TLS route without a match',
    yaml: vs('hosts: [a.com]\ntls:\n- route:\n  - destination: {host: a}'),
    want: ['spec.tls[0].match'],
  },
  {
    name: 'an SNI host outside the VirtualService hosts',
    yaml: vs('hosts: [a.com]\ntls:\n- match:\n  - sniHosts: [b.com]\n  route:\n  - destination: {host: a}'),
    want: ['spec.tls[0].match[0].sniHosts[0]'],
  },
  {
    name: 'an unknown field in a route',
    yaml: http('routes:\n- destination: {host: a}'),
    want: ['spec.http[0].routes'],
  },
  { name: 'no spec at all', yaml: vs(''), want: ['spec'] },
];

describe('validation: VirtualService', () => {
  runCases(cases);
});
