import assert from 'node:assert/strict';
import { doc, runCases, type ValidationCase } from './table.js';

const pa = (spec: string): string => doc('security.istio.io/v1', 'PeerAuthentication', spec);

const cases: ValidationCase[] = [
  {
    name: 'a namespace-wide STRICT policy',
    yaml: pa('mtls: {mode: STRICT}'),
    want: 'valid',
    check: (o) => assert.deepEqual(o.spec, { mtls: { mode: 'STRICT' } }),
  },
  { name: 'an empty spec (inherit)', yaml: pa(''), want: 'valid' },
  { name: 'every mode', yaml: pa('mtls: {mode: UNSET}'), want: 'valid' },
  { name: 'a DISABLE policy', yaml: pa('mtls: {mode: DISABLE}'), want: 'valid' },
  {
    name: 'port-level exceptions on a workload policy',
    yaml: pa(
      'selector: {matchLabels: {app: db}}\nmtls: {mode: STRICT}\nportLevelMtls:\n  "5432": {mode: PERMISSIVE}\n  8080: {mode: DISABLE}',
    ),
    want: 'valid',
    check: (o) => {
      assert.equal(o.kind, 'PeerAuthentication');
      if (o.kind === 'PeerAuthentication')
        assert.deepEqual(Object.keys(o.spec.portLevelMtls ?? {}).sort(), ['5432', '8080']);
    },
  },
  { name: 'the v1beta1 apiVersion', yaml: pa('').replace('/v1\n', '/v1beta1\n'), want: 'valid' },
  { name: 'an empty selector', yaml: pa('selector: {}'), want: 'valid' },
  { name: 'an unknown mode', yaml: pa('mtls: {mode: MUTUAL}'), want: ['spec.mtls.mode'] },
  {
    name: 'port-level settings without a selector',
    yaml: pa('portLevelMtls:\n  "80": {mode: DISABLE}'),
    want: ['spec.portLevelMtls'],
  },
  {
    name: 'port-level settings with an empty selector',
    yaml: pa('selector: {matchLabels: {}}\nportLevelMtls:\n  "80": {mode: DISABLE}'),
    want: ['spec.portLevelMtls'],
  },
  {
    name: 'an empty port-level map',
    yaml: pa('selector: {matchLabels: {app: a}}\nportLevelMtls: {}'),
    want: ['spec.portLevelMtls'],
  },
  {
    name: 'port 0 as a port-level key',
    yaml: pa('selector: {matchLabels: {app: a}}\nportLevelMtls:\n  "0": {mode: DISABLE}'),
    want: ['spec.portLevelMtls["0"]'],
  },
  {
    name: 'a port above 65535 as a key',
    yaml: pa('selector: {matchLabels: {app: a}}\nportLevelMtls:\n  "65536": {mode: DISABLE}'),
    want: ['spec.portLevelMtls["65536"]'],
  },
  {
    name: 'a named port as a key',
    yaml: pa('selector: {matchLabels: {app: a}}\nportLevelMtls:\n  http: {mode: DISABLE}'),
    want: ['spec.portLevelMtls["http"]'],
  },
  {
    name: 'a port-level entry with an unknown mode',
    yaml: pa('selector: {matchLabels: {app: a}}\nportLevelMtls:\n  "80": {mode: OFF}'),
    want: ['spec.portLevelMtls["80"].mode'],
  },
  {
    name: 'an unknown field under mtls',
    yaml: pa('mtls: {mode: STRICT, strict: true}'),
    want: ['spec.mtls.strict'],
  },
  {
    name: 'a selector wildcard',
    yaml: pa('selector: {matchLabels: {"*": a}}'),
    want: ['spec.selector.matchLabels["*"]'],
  },
  {
    name: 'a port key beyond 16 bits',
    yaml: pa('selector: {matchLabels: {foo: bar}}\nportLevelMtls:\n  "42949672": {mode: STRICT}'),
    want: ['spec.portLevelMtls["42949672"]'],
  },
];

describe('validation: PeerAuthentication', () => {
  runCases(cases);
});
