import assert from 'node:assert/strict';
import {
  cidrError,
  durationError,
  gatewayHostError,
  gatewayRefError,
  ipOrCidrError,
  labelKeyError,
  parseDurationNs,
  portStringError,
  wildcardDomainError,
} from '../../../../../src/istiod/config/validation/fields.js';

describe('validation fields: durations', () => {
  const parsed: [string, number | undefined][] = [
    ['1s', 1e9],
    ['100ms', 1e8],
    ['1.5s', 1.5e9],
    ['1m30s', 90e9],
    ['2h', 7200e9],
    ['250us', 250e3],
    ['0', 0],
    ['10', undefined],
    ['s', undefined],
    ['1d', undefined],
    ['', undefined],
  ];
  for (const [text, ns] of parsed) {
    it(`parses ${JSON.stringify(text)} as ${String(ns)} ns`, () => {
      assert.equal(parseDurationNs(text), ns);
    });
  }
  const checked: [string, boolean][] = [
    ['1ms', true],
    ['10s', true],
    ['0s', false],
    ['999us', false],
    ['1500us', false],
    ['-1s', false],
  ];
  for (const [text, ok] of checked) {
    it(`${ok ? 'accepts' : 'rejects'} ${JSON.stringify(text)} as an Istio duration`, () => {
      assert.equal(durationError(text) === undefined, ok);
    });
  }
});

describe('validation fields: hosts, addresses, ports, labels', () => {
  const table: [string, (v: string) => string | undefined, string, boolean][] = [
    ['wildcard domain', wildcardDomainError, 'reviews', true],
    ['wildcard domain', wildcardDomainError, '*.example.com', true],
    ['wildcard domain', wildcardDomainError, '*', true],
    ['wildcard domain', wildcardDomainError, 'Reviews.Example.COM', true],
    ['wildcard domain', wildcardDomainError, 'example.com.', true],
    ['wildcard domain', wildcardDomainError, 'foo.*.com', false],
    ['wildcard domain', wildcardDomainError, 'foo.123', false],
    ['wildcard domain', wildcardDomainError, '', false],
    ['wildcard domain', wildcardDomainError, 'a..b', false],
    ['gateway host', gatewayHostError, 'ns1/*.example.com', true],
    ['gateway host', gatewayHostError, './a.example.com', true],
    ['gateway host', gatewayHostError, '*/*', true],
    ['gateway host', gatewayHostError, '10.0.0.1', true],
    ['gateway host', gatewayHostError, 'reviews', false],
    ['gateway host', gatewayHostError, '/a.com', false],
    ['gateway reference', gatewayRefError, 'mesh', true],
    ['gateway reference', gatewayRefError, 'istio-system/ingress', true],
    ['gateway reference', gatewayRefError, 'istio-system/', false],
    ['IP or CIDR', ipOrCidrError, '10.0.0.0/8', true],
    ['IP or CIDR', ipOrCidrError, '::1', true],
    ['IP or CIDR', ipOrCidrError, '2001:db8::/129', false],
    ['IP or CIDR', ipOrCidrError, '10.0.0.0/-1', false],
    ['CIDR', cidrError, '10.0.0.1', false],
    ['port text', portStringError, '0', true],
    ['port text', portStringError, '65535', true],
    ['port text', portStringError, '65536', false],
    ['port text', portStringError, '+80', false],
    ['label key', labelKeyError, 'app.kubernetes.io/name', true],
    ['label key', labelKeyError, 'a_b.c', true],
    ['label key', labelKeyError, '/name', false],
    ['label key', labelKeyError, 'name-', false],
  ];
  for (const [what, fn, value, ok] of table) {
    it(`${what} ${JSON.stringify(value)} is ${ok ? 'valid' : 'invalid'}`, () => {
      assert.equal(fn(value) === undefined, ok, fn(value));
    });
  }
});
