import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import {
  Action,
  AuthorizationSchema,
  Scope,
  type StringMatch,
} from '../../../../src/gen/istio/security/authorization_pb.js';
import type { AuthorizationPolicySpec } from '../../../../src/istiod/config/types.js';
import {
  convertAuthorizationPolicy,
  hasEffectiveGroups,
} from '../../../../src/istiod/index/authorization.js';
import { authorizationPolicy } from '../../../support/config-objects.js';
import { ip4 } from './fixture.js';

const ROOT = 'istio-system';

type AuthzInit = MessageInitShape<typeof AuthorizationSchema>;

const exact = (v: string) => ({ matchType: { case: 'exact' as const, value: v } });
const prefix = (v: string) => ({ matchType: { case: 'prefix' as const, value: v } });
const suffix = (v: string) => ({ matchType: { case: 'suffix' as const, value: v } });
const presence = () => ({ matchType: { case: 'presence' as const, value: create(EmptySchema) } });
const addr = (ip: string, length: number) => ({ address: ip4(ip), length });

function convert(spec: AuthorizationPolicySpec, ns = 'cfg', annotations: Record<string, string> = {}) {
  return convertAuthorizationPolicy(
    ROOT,
    authorizationPolicy({ name: 'pol', namespace: ns, annotations }, spec),
  );
}

describe('istiod/index/authorization', () => {
  describe('scope and action', () => {
    const cases: { name: string; ns: string; spec: AuthorizationPolicySpec; scope: Scope; action: Action }[] =
      [
        {
          name: 'no selector in a namespace',
          ns: 'cfg',
          spec: {},
          scope: Scope.NAMESPACE,
          action: Action.ALLOW,
        },
        {
          name: 'no selector in the root namespace',
          ns: ROOT,
          spec: {},
          scope: Scope.GLOBAL,
          action: Action.ALLOW,
        },
        {
          name: 'a selector',
          ns: 'cfg',
          spec: { selector: { matchLabels: { app: 'a' } } },
          scope: Scope.WORKLOAD_SELECTOR,
          action: Action.ALLOW,
        },
        {
          name: 'a selector in the root namespace',
          ns: ROOT,
          spec: { selector: { matchLabels: { app: 'a' } } },
          scope: Scope.WORKLOAD_SELECTOR,
          action: Action.ALLOW,
        },
        { name: 'DENY', ns: 'cfg', spec: { action: 'DENY' }, scope: Scope.NAMESPACE, action: Action.DENY },
      ];
    for (const c of cases) {
      it(`${c.name}: scope ${Scope[c.scope]}, action ${Action[c.action]}`, () => {
        const out = convert(c.spec, c.ns).authorization;
        assert.ok(out);
        assert.equal(out.scope, c.scope);
        assert.equal(out.action, c.action);
        assert.equal(out.name, 'pol');
        assert.equal(out.namespace, c.ns);
      });
    }
  });

  describe('policies ztunnel does not get', () => {
    const cases: {
      name: string;
      spec: AuthorizationPolicySpec;
      annotations?: Record<string, string>;
      status: RegExp | undefined;
    }[] = [
      {
        name: 'targetRef',
        spec: { targetRef: { kind: 'Service', name: 'svc' }, rules: [{}] },
        status: undefined,
      },
      {
        name: 'targetRefs',
        spec: { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'wp' }] },
        status: undefined,
      },
      {
        name: 'AUDIT',
        spec: { action: 'AUDIT', rules: [{}] },
        status: /ztunnel does not support the AUDIT action/,
      },
      {
        name: 'CUSTOM',
        spec: { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] },
        status: /ztunnel does not support the CUSTOM action/,
      },
      {
        name: 'dry-run',
        spec: { rules: [{}] },
        annotations: { 'istio.io/dry-run': 'true' },
        status: /dry-run/,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: not sent`, () => {
        const out = convert(c.spec, 'cfg', c.annotations);
        assert.equal(out.authorization, undefined);
        if (c.status === undefined) assert.equal(out.status, undefined);
        else assert.match(out.status ?? '', c.status);
      });
    }
  });

  it('rules: [{}] is one group without clauses (matches everything); spec {} has no groups (matches nothing)', () => {
    assert.deepEqual(
      convert({ rules: [{}] }).authorization,
      create(AuthorizationSchema, {
        name: 'pol',
        namespace: 'cfg',
        scope: Scope.NAMESPACE,
        groups: [{ rules: [] }],
      }),
    );
    assert.deepEqual(
      convert({}).authorization,
      create(AuthorizationSchema, { name: 'pol', namespace: 'cfg', scope: Scope.NAMESPACE, groups: [] }),
    );
  });

  it('converts every L4 field: string forms, service accounts, IP blocks with host lengths, ports, when keys', () => {
    const spec: AuthorizationPolicySpec = {
      rules: [
        {
          from: [
            {
              source: {
                principals: ['principal', 'principal-prefix-*', '*-suffix-principal', '*'],
                notPrincipals: ['not-principal', 'not-principal-prefix-*', '*-suffix-not-principal', '*'],
              },
            },
          ],
        },
        {
          from: [
            {
              source: {
                serviceAccounts: ['ns/sa', 'sa-only'],
                notServiceAccounts: ['ns/sa-not', 'sa-not-only'],
              },
            },
          ],
        },
        {
          from: [
            {
              source: {
                namespaces: ['ns', 'ns-prefix-*', '*-ns-suffix', '*'],
                notNamespaces: ['not-ns', 'not-ns-prefix-*', '*-not-ns-suffix', '*'],
              },
            },
          ],
        },
        {
          from: [{ source: { ipBlocks: ['1.2.3.4', '5.6.0.0/16'], notIpBlocks: ['2.2.3.4', '6.6.0.0/16'] } }],
        },
        { to: [{ operation: { ports: ['80', '90'], notPorts: ['800', '900'] } }] },
        {
          when: [
            {
              key: 'source.ip',
              values: ['10.10.10.10', '192.168.10.0/24'],
              notValues: ['90.10.10.10', '90.168.10.0/24'],
            },
          ],
        },
        {
          when: [
            {
              key: 'destination.ip',
              values: ['10.10.10.10', '192.168.10.0/24'],
              notValues: ['90.10.10.10', '90.168.10.0/24'],
            },
          ],
        },
        { when: [{ key: 'destination.port', values: ['91', '92'], notValues: ['9001', '9002'] }] },
      ],
    };
    const want: AuthzInit = {
      name: 'pol',
      namespace: 'cfg',
      scope: Scope.NAMESPACE,
      action: Action.ALLOW,
      groups: [
        {
          rules: [
            {
              matches: [
                {
                  principals: [
                    exact('principal'),
                    prefix('principal-prefix-'),
                    suffix('-suffix-principal'),
                    presence(),
                  ],
                  notPrincipals: [
                    exact('not-principal'),
                    prefix('not-principal-prefix-'),
                    suffix('-suffix-not-principal'),
                    presence(),
                  ],
                },
              ],
            },
          ],
        },
        {
          rules: [
            {
              matches: [
                {
                  serviceAccounts: [
                    { namespace: 'ns', serviceAccount: 'sa' },
                    { namespace: 'cfg', serviceAccount: 'sa-only' },
                  ],
                  notServiceAccounts: [
                    { namespace: 'ns', serviceAccount: 'sa-not' },
                    { namespace: 'cfg', serviceAccount: 'sa-not-only' },
                  ],
                },
              ],
            },
          ],
        },
        {
          rules: [
            {
              matches: [
                {
                  namespaces: [exact('ns'), prefix('ns-prefix-'), suffix('-ns-suffix'), presence()],
                  notNamespaces: [
                    exact('not-ns'),
                    prefix('not-ns-prefix-'),
                    suffix('-not-ns-suffix'),
                    presence(),
                  ],
                },
              ],
            },
          ],
        },
        {
          rules: [
            {
              matches: [
                {
                  sourceIps: [addr('1.2.3.4', 32), addr('5.6.0.0', 16)],
                  notSourceIps: [addr('2.2.3.4', 32), addr('6.6.0.0', 16)],
                },
              ],
            },
          ],
        },
        { rules: [{ matches: [{ destinationPorts: [80, 90], notDestinationPorts: [800, 900] }] }] },
        {
          rules: [
            {
              matches: [
                {
                  sourceIps: [addr('10.10.10.10', 32), addr('192.168.10.0', 24)],
                  notSourceIps: [addr('90.10.10.10', 32), addr('90.168.10.0', 24)],
                },
              ],
            },
          ],
        },
        {
          rules: [
            {
              matches: [
                {
                  destinationIps: [addr('10.10.10.10', 32), addr('192.168.10.0', 24)],
                  notDestinationIps: [addr('90.10.10.10', 32), addr('90.168.10.0', 24)],
                },
              ],
            },
          ],
        },
        { rules: [{ matches: [{ destinationPorts: [91, 92], notDestinationPorts: [9001, 9002] }] }] },
      ],
    };
    const out = convert(spec);
    assert.equal(out.status, undefined);
    assert.deepEqual(out.authorization, create(AuthorizationSchema, want));
  });

  it('puts all `to` in one clause, all `from` in another, and each `when` in its own', () => {
    const out = convert({
      rules: [
        {
          to: [{ operation: { ports: ['80'] } }, { operation: { ports: ['443'] } }],
          from: [{ source: { namespaces: ['a'] } }, { source: { principals: ['cluster.local/ns/b/sa/c'] } }],
          when: [
            { key: 'source.namespace', values: ['x'] },
            { key: 'source.principal', notValues: ['cluster.local/ns/y/sa/z'] },
          ],
        },
      ],
    }).authorization;
    const want = create(AuthorizationSchema, {
      name: 'pol',
      namespace: 'cfg',
      scope: Scope.NAMESPACE,
      groups: [
        {
          rules: [
            { matches: [{ destinationPorts: [80] }, { destinationPorts: [443] }] },
            { matches: [{ namespaces: [exact('a')] }, { principals: [exact('cluster.local/ns/b/sa/c')] }] },
            { matches: [{ namespaces: [exact('x')] }] },
            { matches: [{ notPrincipals: [exact('cluster.local/ns/y/sa/z')] }] },
          ],
        },
      ],
    });
    assert.deepEqual(out, want);
  });

  it('drops ports that are not decimal numbers up to 65535 and IPs that do not parse', () => {
    const out = convert({
      rules: [
        {
          to: [{ operation: { ports: ['http', '65536', '8080', '-1'] } }],
          from: [{ source: { ipBlocks: ['nope', '10.0.0.1/33', '::1'] } }],
        },
      ],
    }).authorization;
    const match = out?.groups[0]?.rules;
    assert.deepEqual(match?.[0]?.matches[0]?.destinationPorts, [8080]);
    assert.deepEqual(
      match?.[1]?.matches[0]?.sourceIps.map((a) => [a.address.length, a.length]),
      [[16, 128]],
    );
  });

  // The golden groups-deny policy: every rule mixes L4 and L7 differently.
  const groupsRules: AuthorizationPolicySpec['rules'] = [
    {
      from: [
        {
          source: {
            principals: ['from-mix-principal'],
            requestPrincipals: ['from-mix-requestPrincipals'],
            namespaces: ['from-mix-ns'],
          },
        },
      ],
      to: [{ operation: { ports: ['80'] } }],
    },
    {
      from: [{ source: { principals: ['to-mix-principal'], namespaces: ['to-mix-ns'] } }],
      to: [{ operation: { ports: ['80'], methods: ['to-mix-method'] } }],
    },
    {
      from: [{ source: { principals: ['only-l4-principals'], namespaces: ['only-l4-ns'] } }],
      to: [{ operation: { ports: ['80'] } }],
    },
    {
      from: [{ source: { requestPrincipals: ['l7-principal'] } }],
      to: [{ operation: { paths: ['/l7-foo'], methods: ['l7-method'] } }],
    },
    {
      when: [
        { key: 'source.namespace', values: ['when-l4-l7-ns'] },
        { key: 'connection.sni', values: ['when-l4-l7-sni'] },
      ],
    },
    {
      when: [
        { key: 'source.namespace', values: ['when-l4-ns'] },
        { key: 'source.ip', values: ['10.10.10.10'], notValues: ['20.20.20.20'] },
      ],
    },
    {
      when: [
        { key: 'connection.sni', values: ['when-l7-sni'] },
        { key: 'request.headers[X-header]', values: ['when-l7-header'] },
      ],
    },
  ];
  const l4Group = (principal: string, ns: string) => ({
    rules: [
      { matches: [{ destinationPorts: [80] }] },
      { matches: [{ namespaces: [exact(ns)], principals: [exact(principal)] }] },
    ],
  });
  const whenL4Only = {
    rules: [
      { matches: [{ namespaces: [exact('when-l4-ns')] }] },
      { matches: [{ sourceIps: [addr('10.10.10.10', 32)], notSourceIps: [addr('20.20.20.20', 32)] }] },
    ],
  };

  it('DENY keeps the L4 parts of rules with HTTP attributes and says so', () => {
    const out = convert({ action: 'DENY', rules: groupsRules });
    assert.deepEqual(
      out.authorization,
      create(AuthorizationSchema, {
        name: 'pol',
        namespace: 'cfg',
        scope: Scope.NAMESPACE,
        action: Action.DENY,
        groups: [
          l4Group('from-mix-principal', 'from-mix-ns'),
          l4Group('to-mix-principal', 'to-mix-ns'),
          l4Group('only-l4-principals', 'only-l4-ns'),
          { rules: [{ matches: [{}] }, { matches: [{}] }] },
          { rules: [{ matches: [{ namespaces: [exact('when-l4-l7-ns')] }] }, { matches: [{}] }] },
          whenL4Only,
          { rules: [{ matches: [{}] }, { matches: [{}] }] },
        ],
      }),
    );
    assert.equal(
      out.status,
      'ztunnel does not support HTTP attributes (found: connection.sni, methods, paths, request.headers[X-header], requestPrincipals). ' +
        'In ambient mode you must use a waypoint proxy to enforce HTTP rules. ' +
        'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.',
    );
  });

  it('ALLOW drops every rule that uses an HTTP attribute', () => {
    const out = convert({ rules: groupsRules });
    assert.deepEqual(
      out.authorization,
      create(AuthorizationSchema, {
        name: 'pol',
        namespace: 'cfg',
        scope: Scope.NAMESPACE,
        action: Action.ALLOW,
        groups: [l4Group('only-l4-principals', 'only-l4-ns'), whenL4Only],
      }),
    );
    assert.match(out.status ?? '', /Within an ALLOW policy, rules matching HTTP attributes are omitted/);
  });

  it('an ALLOW whose only rule is HTTP-only matches nothing (no groups)', () => {
    const out = convert({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }] });
    assert.deepEqual(out.authorization?.groups, []);
  });

  const effective: {
    name: string;
    rules: AuthorizationPolicySpec['rules'];
    want: boolean;
    consequence: RegExp;
  }[] = [
    {
      name: 'only notRequestPrincipals',
      rules: [{ from: [{ source: { notRequestPrincipals: ['x'] } }] }],
      want: false,
      consequence: /will have no effect/,
    },
    {
      name: 'principals plus notRequestPrincipals',
      rules: [{ from: [{ source: { principals: ['p'], notRequestPrincipals: ['x'] } }] }],
      want: true,
      consequence: /enforced without the HTTP rules/,
    },
    {
      name: 'an empty catch-all rule and an L7-only rule',
      rules: [{}, { from: [{ source: { notRequestPrincipals: ['x'] } }] }],
      want: true,
      consequence: /enforced without the HTTP rules/,
    },
    {
      name: 'L4 from AND L7 when',
      rules: [
        {
          from: [{ source: { principals: ['p'] } }],
          when: [{ key: 'request.headers[x-token]', values: ['s'] }],
        },
      ],
      want: false,
      consequence: /will have no effect/,
    },
    {
      name: 'L4 from AND L7-only to',
      rules: [{ from: [{ source: { principals: ['p'] } }], to: [{ operation: { methods: ['GET'] } }] }],
      want: false,
      consequence: /will have no effect/,
    },
  ];
  for (const c of effective) {
    it(`DENY with ${c.name}: ${c.want ? 'still enforced' : 'no effect'} at ztunnel`, () => {
      const out = convert({ action: 'DENY', rules: c.rules });
      assert.ok(out.authorization);
      assert.equal(hasEffectiveGroups(out.authorization), c.want);
      assert.match(out.status ?? '', c.consequence);
    });
  }

  it('StringMatch forms follow the `*` position', () => {
    const out = convert({
      rules: [{ from: [{ source: { principals: ['*', '*a', 'b*', 'c'] } }] }],
    }).authorization;
    const kinds = (out?.groups[0]?.rules[0]?.matches[0]?.principals ?? []).map(
      (m: StringMatch) => m.matchType.case,
    );
    assert.deepEqual(kinds, ['presence', 'suffix', 'prefix', 'exact']);
  });
});
