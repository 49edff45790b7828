import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const V1 = 'gateway.networking.k8s.io/v1';
const gw = (spec: string, meta?: string): string => doc(V1, 'Gateway', spec, meta);
/** A Gateway of class istio with the given listeners (a YAML list). */
const listeners = (l: string): string => gw(`gatewayClassName: istio\nlisteners:\n${l}`);
const gc = (spec: string, meta = 'name: istio'): string => doc(V1, 'GatewayClass', spec, meta);

const cases: ValidationCase[] = [
  // Istio's samples/bookinfo/gateway-api/bookinfo-gateway.yaml
  {
    name: 'the bookinfo gateway: one HTTP listener from the same namespace',
    yaml: listeners('- name: http\n  port: 80\n  protocol: HTTP\n  allowedRoutes:\n    namespaces:\n      from: Same'),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'KubernetesGateway');
      assert.equal(o.apiVersion, V1);
    },
  },
  {
    name: 'a waypoint: class istio-waypoint, listener mesh on 15008 speaking HBONE',
    yaml: gw('gatewayClassName: istio-waypoint\nlisteners:\n- name: mesh\n  port: 15008\n  protocol: HBONE', 'name: waypoint\n  namespace: demo\n  labels: {istio.io/waypoint-for: service}'),
    want: 'valid',
  },
  {
    name: 'an HTTPS listener terminating with a Secret, and a TLS passthrough listener',
    yaml: listeners(
      '- name: https\n  hostname: "*.example.com"\n  port: 443\n  protocol: HTTPS\n  tls: {mode: Terminate, certificateRefs: [{kind: Secret, group: "", name: wildcard-cert}]}\n- name: tls\n  hostname: db.example.com\n  port: 443\n  protocol: TLS\n  tls: {mode: Passthrough}',
    ),
    want: 'valid',
  },
  {
    name: 'a v1beta1 Gateway with a domain-prefixed protocol, addresses and route kinds',
    yaml: doc(
      'gateway.networking.k8s.io/v1beta1',
      'Gateway',
      'gatewayClassName: istio\naddresses: [{value: 10.0.0.1}, {type: Hostname, value: gw.example.com}]\nlisteners:\n- {name: custom, port: 9000, protocol: example.com/my-proto}\n- {name: tcp, port: 27017, protocol: TCP, allowedRoutes: {kinds: [{kind: TCPRoute}]}}',
    ),
    want: 'valid',
  },
  {
    name: 'an Istio Gateway still goes to the Istio validator',
    yaml: doc('networking.istio.io/v1', 'Gateway', 'servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: ["*"]'),
    want: 'valid',
    check: (o) => assert.equal(o.kind, 'Gateway'),
  },
  {
    name: 'a Gateway in an unknown group',
    yaml: doc('gateway.example.com/v1', 'Gateway', 'gatewayClassName: istio'),
    want: ['apiVersion'],
    message: /unsupported group "gateway\.example\.com" for Gateway; expected networking\.istio\.io or gateway\.networking\.k8s\.io/,
  },
  {
    name: 'a Gateway API Gateway at a version it is not served at',
    yaml: doc('gateway.networking.k8s.io/v1alpha1', 'Gateway', 'gatewayClassName: istio'),
    want: ['apiVersion'],
  },
  {
    name: 'an Istio-shaped spec under the Gateway API group',
    yaml: gw('servers: []'),
    want: ['spec.servers', 'spec.gatewayClassName', 'spec.listeners'],
  },
  { name: 'no spec', yaml: gw(''), want: ['spec'] },
  { name: 'an empty listener list', yaml: gw('gatewayClassName: istio\nlisteners: []'), want: ['spec.listeners'] },
  {
    name: 'more than 64 listeners',
    yaml: listeners(Array.from({ length: 65 }, (_, i) => `- {name: l${i}, port: ${1000 + i}, protocol: TCP}`).join('\n')),
    want: ['spec.listeners'],
    message: /at most 64 listeners/,
  },
  {
    name: 'a listener without name, port or protocol',
    yaml: listeners('- hostname: a.example.com'),
    want: ['spec.listeners[0].name', 'spec.listeners[0].port', 'spec.listeners[0].protocol'],
  },
  { name: 'port 0', yaml: listeners('- {name: http, port: 0, protocol: HTTP}'), want: ['spec.listeners[0].port'] },
  { name: 'port 65536', yaml: listeners('- {name: http, port: 65536, protocol: HTTP}'), want: ['spec.listeners[0].port'] },
  {
    name: 'a protocol that is neither a token nor domain-prefixed',
    yaml: listeners('- {name: x, port: 80, protocol: "HTTP/2"}'),
    want: ['spec.listeners[0].protocol'],
  },
  {
    name: 'a listener name with upper case',
    yaml: listeners('- {name: Http, port: 80, protocol: HTTP}'),
    want: ['spec.listeners[0].name'],
  },
  {
    name: 'a hostname with upper case, an IP and a partial wildcard',
    yaml: listeners('- {name: a, hostname: A.example.com, port: 80, protocol: HTTP}\n- {name: b, hostname: 10.0.0.1, port: 81, protocol: HTTP}\n- {name: c, hostname: "foo*.example.com", port: 82, protocol: HTTP}'),
    want: ['spec.listeners[0].hostname', 'spec.listeners[2].hostname'],
  },
  {
    name: 'CEL: listener names unique',
    yaml: listeners('- {name: http, port: 80, protocol: HTTP}\n- {name: http, port: 8080, protocol: HTTP}'),
    want: ['spec.listeners[1].name'],
  },
  {
    name: 'CEL: port, protocol and hostname unique together',
    yaml: listeners('- {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n- {name: b, port: 80, protocol: HTTP, hostname: a.example.com}\n- {name: c, port: 80, protocol: HTTP, hostname: b.example.com}'),
    want: ['spec.listeners[1]'],
  },
  {
    name: 'CEL: tls must not be set for HTTP, TCP or UDP',
    yaml: listeners('- {name: a, port: 80, protocol: HTTP, tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n- {name: b, port: 81, protocol: TCP, tls: {mode: Passthrough}}'),
    want: ['spec.listeners[0].tls', 'spec.listeners[1].tls'],
  },
  {
    name: 'tls required for HTTPS and TLS',
    yaml: listeners('- {name: a, port: 443, protocol: HTTPS}\n- {name: b, port: 8443, protocol: TLS}'),
    want: ['spec.listeners[0].tls', 'spec.listeners[1].tls'],
  },
  {
    name: 'CEL: tls mode must be Terminate for HTTPS',
    yaml: listeners('- {name: a, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}'),
    want: ['spec.listeners[0].tls.mode'],
  },
  {
    name: 'CEL: certificateRefs (or options) required when mode is Terminate (the default)',
    yaml: listeners('- {name: a, port: 443, protocol: HTTPS, tls: {}}'),
    want: ['spec.listeners[0].tls.certificateRefs'],
  },
  {
    name: 'an unknown tls mode',
    yaml: listeners('- {name: a, port: 443, protocol: TLS, tls: {mode: Simple}}'),
    want: ['spec.listeners[0].tls.mode'],
  },
  {
    name: 'a certificateRef without a name',
    yaml: listeners('- {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{kind: Secret}]}}'),
    want: ['spec.listeners[0].tls.certificateRefs[0].name'],
  },
  {
    name: 'CEL: hostname must not be set for TCP or UDP',
    yaml: listeners('- {name: a, port: 53, protocol: UDP, hostname: dns.example.com}'),
    want: ['spec.listeners[0].hostname'],
  },
  {
    name: 'allowedRoutes: an unknown namespaces.from and a kind without kind',
    yaml: listeners('- {name: a, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Everyone}, kinds: [{group: gateway.networking.k8s.io}]}}'),
    want: ['spec.listeners[0].allowedRoutes.namespaces.from', 'spec.listeners[0].allowedRoutes.kinds[0].kind'],
  },
  {
    name: 'CEL: IPAddress and Hostname addresses unique; Hostname values well formed',
    yaml: gw('gatewayClassName: istio\naddresses: [{value: 10.0.0.1}, {type: IPAddress, value: 10.0.0.1}, {type: Hostname, value: "Bad_Host"}]\nlisteners: [{name: a, port: 80, protocol: HTTP}]'),
    want: ['spec.addresses[1].value', 'spec.addresses[2].value'],
  },
  {
    name: 'an unknown field in a listener',
    yaml: listeners('- {name: a, port: 80, protocol: HTTP, hosts: ["*"]}'),
    want: ['spec.listeners[0].hosts'],
  },

  // GatewayClass
  { name: 'the istio GatewayClass', yaml: gc('controllerName: istio.io/gateway-controller\ndescription: The default Istio GatewayClass'), want: 'valid', check: (o) => assert.equal(o.metadata.namespace, '') },
  { name: 'a v1beta1 GatewayClass for waypoints', yaml: doc('gateway.networking.k8s.io/v1beta1', 'GatewayClass', 'controllerName: istio.io/mesh-controller', 'name: istio-waypoint'), want: 'valid' },
  { name: 'a GatewayClass without controllerName', yaml: gc('description: x'), want: ['spec.controllerName'] },
  { name: 'a controllerName without a domain prefix', yaml: gc('controllerName: gateway-controller'), want: ['spec.controllerName'], message: /domain-prefixed/ },
  { name: 'a namespaced GatewayClass', yaml: gc('controllerName: istio.io/gateway-controller', 'name: istio\n  namespace: demo'), want: ['metadata.namespace'] },
  { name: 'a description over 64 characters', yaml: gc(`controllerName: istio.io/gateway-controller\ndescription: ${'d'.repeat(65)}`), want: ['spec.description'] },
  {
    name: 'a parametersRef without group and kind',
    yaml: gc('controllerName: istio.io/gateway-controller\nparametersRef: {name: p}'),
    want: ['spec.parametersRef.group', 'spec.parametersRef.kind'],
  },
];

describe('validation: Gateway API Gateway and GatewayClass', () => {
  runCases(cases);
});
