import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const gw = (spec: string, meta?: string): string => doc('networking.istio.io/v1', 'Gateway', spec, meta);
/** A Gateway with one server. */
const server = (s: string): string =>
  gw(`selector: {istio: ingressgateway}\nservers:\n- ${s.replace(/\n/g, '\n  ')}`);

const cases: ValidationCase[] = [
  {
    name: 'an HTTP server',
    yaml: server('port: {number: 80, name: http, protocol: HTTP}\nhosts: ["*"]'),
    want: 'valid',
    check: (o) => assert.equal(o.kind, 'Gateway'),
  },
  {
    name: 'an HTTPS server with a credential name',
    yaml: server(
      'port: {number: 443, name: https, protocol: HTTPS}\nhosts: ["bookinfo/*.example.com"]\ntls: {mode: SIMPLE, credentialName: example-cert}',
    ),
    want: 'valid',
  },
  {
    name: 'an HTTPS server with files',
    yaml: server(
      'port: {number: 443, name: https, protocol: HTTPS}\nhosts: [a.example.com]\ntls: {mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem}',
    ),
    want: 'valid',
  },
  {
    name: 'a mutual TLS server with files',
    yaml: server(
      'port: {number: 443, name: https, protocol: HTTPS}\nhosts: ["./a.example.com"]\ntls: {mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}',
    ),
    want: 'valid',
  },
  {
    name: 'a TLS passthrough server',
    yaml: server(
      'port: {number: 443, name: tls, protocol: TLS}\nhosts: ["*/*.example.com"]\ntls: {mode: PASSTHROUGH}',
    ),
    want: 'valid',
  },
  {
    name: 'an HTTP server redirecting to HTTPS',
    yaml: server(
      'port: {number: 80, name: http, protocol: HTTP}\nhosts: [a.example.com]\ntls: {httpsRedirect: true}',
    ),
    want: 'valid',
  },
  {
    name: 'an ISTIO_MUTUAL server',
    yaml: server(
      'port: {number: 15443, name: tls, protocol: TLS}\nhosts: ["*.local"]\ntls: {mode: ISTIO_MUTUAL}',
    ),
    want: 'valid',
  },

  {
    name: 'a name with a dot',
    yaml: gw(
      'servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: ["*"]',
      'name: my.gateway',
    ),
    want: ['metadata.name'],
  },
  { name: 'no servers', yaml: gw('selector: {istio: ingressgateway}'), want: ['spec.servers'] },
  {
    name: 'a server without hosts',
    yaml: server('port: {number: 80, name: http, protocol: HTTP}'),
    want: ['spec.servers[0].hosts'],
  },
  { name: 'a server without a port', yaml: server('hosts: ["*"]'), want: ['spec.servers[0].port'] },
  {
    name: 'a port without a name',
    yaml: server('port: {number: 80, protocol: HTTP}\nhosts: ["*"]'),
    want: ['spec.servers[0].port.name'],
  },
  {
    name: 'an unknown protocol',
    yaml: server('port: {number: 80, name: http, protocol: QUIC}\nhosts: ["*"]'),
    want: ['spec.servers[0].port.protocol'],
  },
  {
    name: 'port number 0',
    yaml: server('port: {number: 0, name: http, protocol: HTTP}\nhosts: ["*"]'),
    want: ['spec.servers[0].port.number'],
  },
  {
    name: 'a target port',
    yaml: server('port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}\nhosts: ["*"]'),
    want: ['spec.servers[0].port.targetPort'],
  },
  {
    name: 'a short host name',
    yaml: server('port: {number: 80, name: http, protocol: HTTP}\nhosts: [reviews]'),
    want: ['spec.servers[0].hosts[0]'],
  },
  {
    name: 'a partial wildcard host',
    yaml: server('port: {number: 80, name: http, protocol: HTTP}\nhosts: ["foo*.example.com"]'),
    want: ['spec.servers[0].hosts[0]'],
  },
  {
    name: 'an invalid host namespace',
    yaml: server('port: {number: 80, name: http, protocol: HTTP}\nhosts: ["Bad_NS/a.example.com"]'),
    want: ['spec.servers[0].hosts[0]'],
  },
  {
    name: 'an HTTPS server without TLS settings',
    yaml: server('port: {number: 443, name: https, protocol: HTTPS}\nhosts: ["*"]'),
    want: ['spec.servers[0].tls'],
  },
  {
    name: 'SIMPLE TLS without certificate files or credential',
    yaml: server('port: {number: 443, name: https, protocol: HTTPS}\nhosts: ["*"]\ntls: {mode: SIMPLE}'),
    want: ['spec.servers[0].tls.serverCertificate', 'spec.servers[0].tls.privateKey'],
  },
  {
    name: 'MUTUAL TLS without a CA bundle',
    yaml: server(
      'port: {number: 443, name: https, protocol: HTTPS}\nhosts: ["*"]\ntls: {mode: MUTUAL, serverCertificate: /c, privateKey: /k}',
    ),
    want: ['spec.servers[0].tls.caCertificates'],
  },
  {
    name: 'ISTIO_MUTUAL with a credential name',
    yaml: server(
      'port: {number: 443, name: tls, protocol: TLS}\nhosts: ["*"]\ntls: {mode: ISTIO_MUTUAL, credentialName: x}',
    ),
    want: ['spec.servers[0].tls.credentialName'],
  },
  {
    name: 'TLS certificates on a plain HTTP server',
    yaml: server(
      'port: {number: 80, name: http, protocol: HTTP}\nhosts: ["*"]\ntls: {mode: SIMPLE, credentialName: x}',
    ),
    want: ['spec.servers[0].tls'],
  },
  {
    name: 'TLS settings on a TCP server',
    yaml: server('port: {number: 31400, name: tcp, protocol: TCP}\nhosts: ["*"]\ntls: {httpsRedirect: true}'),
    want: ['spec.servers[0].tls'],
  },
  {
    name: 'an unknown TLS mode',
    yaml: server('port: {number: 443, name: https, protocol: HTTPS}\nhosts: ["*"]\ntls: {mode: STRICT}'),
    want: ['spec.servers[0].tls.mode'],
  },
  {
    name: 'a bind address that is not an IP',
    yaml: server('port: {number: 80, name: http, protocol: HTTP}\nhosts: ["*"]\nbind: localhost'),
    want: ['spec.servers[0].bind'],
  },
  {
    name: 'duplicate port names across servers',
    yaml: gw(
      'servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: ["*"]\n- port: {number: 8080, name: http, protocol: HTTP}\n  hosts: ["*"]',
    ),
    want: ['spec.servers[1].port.name'],
  },
  { name: 'no spec at all', yaml: gw(''), want: ['spec'] },
];

describe('validation: Gateway', () => {
  runCases(cases);
});
