import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import { Action, AuthorizationSchema, Scope } from '../../../../src/gen/istio/security/authorization_pb.js';
import type { AnyConfigObject, PeerAuthenticationSpec } from '../../../../src/istiod/config/types.js';
import { authorizationPolicy, peerAuthentication, pod } from '../../../support/config-objects.js';
import { fixture } from './fixture.js';

const STATIC = 'istio-system/istio_converted_static_strict';
const presence = { matchType: { case: 'presence' as const, value: create(EmptySchema) } };
const notPrincipal = (destinationPorts: number[] = []) => ({
  matches: [{ notPrincipals: [presence], destinationPorts }],
});
const notPort = (p: number) => ({ matches: [{ notDestinationPorts: [p] }] });

function policiesOf(objects: AnyConfigObject[], uid: string): string[] | undefined {
  return fixture(objects)
    .index.workloads()
    .find((w) => w.uid === uid)?.authorizationPolicies;
}

const podA = pod({ name: 'a', namespace: 'foo', labels: { app: 'a' }, ip: '10.0.0.1' });
const podB = pod({ name: 'b', namespace: 'foo', labels: { app: 'b' }, ip: '10.0.0.2' });
const podBar = pod({ name: 'c', namespace: 'bar', labels: { app: 'a' }, ip: '10.0.0.3' });
const A = 'Kubernetes//Pod/foo/a';

const pa = (name: string, namespace: string, spec: PeerAuthenticationSpec, creationTimestamp?: string) =>
  peerAuthentication(
    { name, namespace, ...(creationTimestamp === undefined ? {} : { creationTimestamp }) },
    spec,
  );

describe('istiod/index policies on workloads', () => {
  describe('AuthorizationPolicy attachment (selector-scoped keys only)', () => {
    const objects = [
      podA,
      podB,
      podBar,
      authorizationPolicy(
        { name: 'local-ns', namespace: 'foo' },
        { selector: { matchLabels: { app: 'a' } }, rules: [{}] },
      ),
      authorizationPolicy(
        { name: 'wrong-labels', namespace: 'foo' },
        { selector: { matchLabels: { app: 'not-a' } }, rules: [{}] },
      ),
      authorizationPolicy(
        { name: 'root-ns', namespace: 'istio-system' },
        { selector: { matchLabels: { app: 'a' } }, rules: [{}] },
      ),
      authorizationPolicy({ name: 'namespace-wide', namespace: 'foo' }, { rules: [{}] }),
      authorizationPolicy({ name: 'global', namespace: 'istio-system' }, { rules: [{}] }),
      authorizationPolicy(
        { name: 'audit', namespace: 'foo' },
        { action: 'AUDIT', selector: { matchLabels: { app: 'a' } }, rules: [{}] },
      ),
      authorizationPolicy(
        { name: 'waypoint', namespace: 'foo' },
        { targetRefs: [{ kind: 'Service', name: 's' }], selector: { matchLabels: { app: 'a' } } },
      ),
    ];
    const cases: { uid: string; want: string[] }[] = [
      { uid: A, want: ['foo/local-ns', 'istio-system/root-ns'] },
      { uid: 'Kubernetes//Pod/foo/b', want: [] },
      { uid: 'Kubernetes//Pod/bar/c', want: ['istio-system/root-ns'] },
    ];
    for (const c of cases) {
      it(`${c.uid} lists ${JSON.stringify(c.want)}`, () => {
        assert.deepEqual(policiesOf(objects, c.uid), c.want);
      });
    }

    it('serves namespace and global policies as resources without listing them on workloads', () => {
      const names = fixture(objects)
        .index.authorizations()
        .map((a) => `${a.namespace}/${a.name}`);
      assert.deepEqual(names, [
        'foo/local-ns',
        'foo/namespace-wide',
        'foo/wrong-labels',
        'istio-system/global',
        'istio-system/root-ns',
      ]);
    });
  });

  describe('effective PeerAuthentication mode', () => {
    const cases: { name: string; pas: AnyConfigObject[]; want: string[] }[] = [
      { name: 'no PeerAuthentication', pas: [], want: [] },
      {
        name: 'mesh STRICT',
        pas: [pa('mesh', 'istio-system', { mtls: { mode: 'STRICT' } })],
        want: [STATIC],
      },
      {
        name: 'mesh PERMISSIVE',
        pas: [pa('mesh', 'istio-system', { mtls: { mode: 'PERMISSIVE' } })],
        want: [],
      },
      {
        name: 'mesh STRICT, namespace PERMISSIVE',
        pas: [
          pa('mesh', 'istio-system', { mtls: { mode: 'STRICT' } }),
          pa('ns', 'foo', { mtls: { mode: 'PERMISSIVE' } }),
        ],
        want: [],
      },
      {
        name: 'mesh STRICT, namespace UNSET inherits',
        pas: [
          pa('mesh', 'istio-system', { mtls: { mode: 'STRICT' } }),
          pa('ns', 'foo', { mtls: { mode: 'UNSET' } }),
        ],
        want: [STATIC],
      },
      {
        name: 'namespace PERMISSIVE, workload STRICT',
        pas: [
          pa('ns', 'foo', { mtls: { mode: 'PERMISSIVE' } }),
          pa('wl', 'foo', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'STRICT' } }),
        ],
        want: [STATIC],
      },
      {
        name: 'namespace STRICT, workload DISABLE',
        pas: [
          pa('ns', 'foo', { mtls: { mode: 'STRICT' } }),
          pa('wl', 'foo', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'DISABLE' } }),
        ],
        want: [],
      },
      {
        name: 'two namespace policies: the oldest (STRICT) wins',
        pas: [
          pa('newer', 'foo', { mtls: { mode: 'PERMISSIVE' } }, '2024-05-01T00:00:00Z'),
          pa('older', 'foo', { mtls: { mode: 'STRICT' } }, '2024-01-01T00:00:00Z'),
        ],
        want: [STATIC],
      },
      {
        name: 'a workload policy for other labels does not apply',
        pas: [pa('wl', 'foo', { selector: { matchLabels: { app: 'b' } }, mtls: { mode: 'STRICT' } })],
        want: [],
      },
      {
        name: 'a STRICT selector policy in the root namespace does not apply to other namespaces',
        pas: [
          pa('wl', 'istio-system', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'STRICT' } }),
        ],
        want: [],
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${JSON.stringify(c.want)}`, () => {
        assert.deepEqual(policiesOf([podA, ...c.pas], A), c.want);
      });
    }

    it('publishes the static STRICT policy as soon as any PeerAuthentication exists, and removes it with the last', () => {
      const f = fixture([podA]);
      assert.deepEqual(f.index.authorizations(), []);
      f.store.upsert(pa('mesh', 'istio-system', { mtls: { mode: 'PERMISSIVE' } }));
      assert.deepEqual(f.index.authorizations(), [
        create(AuthorizationSchema, {
          name: 'istio_converted_static_strict',
          namespace: 'istio-system',
          scope: Scope.WORKLOAD_SELECTOR,
          action: Action.DENY,
          groups: [{ rules: [notPrincipal()] }],
        }),
      ]);
      f.store.delete('PeerAuthentication', 'istio-system', 'mesh');
      assert.deepEqual(f.index.authorizations(), []);
    });
  });

  describe('port-level mTLS (Istio golden cases)', () => {
    type AuthzInit = MessageInitShape<typeof AuthorizationSchema>;
    const converted = (groups: AuthzInit['groups'], name = 'workload') =>
      create(AuthorizationSchema, {
        name: `converted_peer_authentication_${name}`,
        namespace: 'foo',
        scope: Scope.WORKLOAD_SELECTOR,
        action: Action.DENY,
        groups,
      });
    const sel = { matchLabels: { app: 'a' } };
    const KEY = 'foo/converted_peer_authentication_workload';
    const cases: {
      name: string;
      pas: AnyConfigObject[];
      keys: string[];
      policy: ReturnType<typeof converted> | undefined;
    }[] = [
      {
        name: 'STRICT with ports STRICT and PERMISSIVE',
        pas: [
          pa('workload', 'foo', {
            selector: sel,
            mtls: { mode: 'STRICT' },
            portLevelMtls: { '9090': { mode: 'STRICT' }, '8080': { mode: 'PERMISSIVE' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPrincipal(), notPort(8080)] }]),
      },
      {
        name: 'STRICT with a DISABLE port',
        pas: [
          pa('workload', 'foo', {
            selector: sel,
            mtls: { mode: 'STRICT' },
            portLevelMtls: { '8080': { mode: 'DISABLE' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPrincipal(), notPort(8080)] }]),
      },
      {
        name: 'STRICT with only STRICT ports (the static policy covers it)',
        pas: [
          pa('workload', 'foo', {
            selector: sel,
            mtls: { mode: 'STRICT' },
            portLevelMtls: { '9090': { mode: 'STRICT' } },
          }),
        ],
        keys: [STATIC],
        policy: undefined,
      },
      {
        name: 'PERMISSIVE with a STRICT port',
        pas: [
          pa('workload', 'foo', {
            selector: sel,
            mtls: { mode: 'PERMISSIVE' },
            portLevelMtls: { '9090': { mode: 'STRICT' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPrincipal([9090])] }]),
      },
      {
        name: 'PERMISSIVE with STRICT and PERMISSIVE ports',
        pas: [
          pa('workload', 'foo', {
            selector: sel,
            mtls: { mode: 'PERMISSIVE' },
            portLevelMtls: { '9090': { mode: 'STRICT' }, '8080': { mode: 'PERMISSIVE' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPrincipal([9090])] }]),
      },
      {
        name: 'mesh PERMISSIVE, namespace UNSET, workload UNSET with ports STRICT and PERMISSIVE',
        pas: [
          pa('default-mesh', 'istio-system', { mtls: { mode: 'PERMISSIVE' } }),
          pa('default-foo', 'foo', { mtls: { mode: 'UNSET' } }),
          pa('workload', 'foo', {
            selector: sel,
            portLevelMtls: { '9090': { mode: 'STRICT' }, '8080': { mode: 'PERMISSIVE' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPrincipal([9090])] }]),
      },
      {
        name: 'mesh STRICT, workload UNSET with ports STRICT and PERMISSIVE (STRICT merged in)',
        pas: [
          pa('mesh', 'istio-system', { mtls: { mode: 'STRICT' } }),
          pa('workload', 'foo', {
            selector: sel,
            portLevelMtls: { '9090': { mode: 'STRICT' }, '8080': { mode: 'PERMISSIVE' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPort(8080), notPrincipal()] }]),
      },
      {
        name: 'mesh STRICT, workload UNSET with a STRICT port (inherited)',
        pas: [
          pa('mesh', 'istio-system', { mtls: { mode: 'STRICT' } }),
          pa('workload', 'foo', { selector: sel, portLevelMtls: { '9090': { mode: 'STRICT' } } }),
        ],
        keys: [STATIC],
        policy: undefined,
      },
      {
        name: 'namespace STRICT, workload STRICT with a PERMISSIVE port (merged)',
        pas: [
          pa('ns', 'foo', { mtls: { mode: 'STRICT' } }),
          pa('workload', 'foo', {
            selector: sel,
            mtls: { mode: 'STRICT' },
            portLevelMtls: { '8080': { mode: 'PERMISSIVE' } },
          }),
        ],
        keys: [KEY],
        policy: converted([{ rules: [notPrincipal(), notPort(8080), notPrincipal()] }]),
      },
    ];
    for (const c of cases) {
      it(`${c.name}: lists ${JSON.stringify(c.keys)}${c.policy === undefined ? ', no converted policy' : ''}`, () => {
        const f = fixture([podA, ...c.pas]);
        assert.deepEqual(f.index.workloads().find((w) => w.uid === A)?.authorizationPolicies, c.keys);
        const got = f.index.authorizations().find((a) => a.name === 'converted_peer_authentication_workload');
        assert.deepEqual(got, c.policy);
      });
    }

    it('recomputes a converted policy when the namespace policy it merges with changes', () => {
      const f = fixture([
        podA,
        pa('workload', 'foo', { selector: sel, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } }),
      ]);
      assert.equal(
        f.index.authorizations().find((a) => a.name.startsWith('converted_')),
        undefined,
      );
      f.store.upsert(pa('ns', 'foo', { mtls: { mode: 'STRICT' } }));
      assert.deepEqual(
        f.index.authorizations().find((a) => a.name.startsWith('converted_')),
        converted([{ rules: [notPort(8080), notPrincipal()] }]),
      );
      assert.deepEqual(f.index.workloads().find((w) => w.uid === A)?.authorizationPolicies, [KEY]);
      f.store.delete('PeerAuthentication', 'foo', 'ns');
      assert.equal(
        f.index.authorizations().find((a) => a.name.startsWith('converted_')),
        undefined,
      );
      assert.deepEqual(f.index.workloads().find((w) => w.uid === A)?.authorizationPolicies, []);
    });
  });

  it('selector policies come first (sorted), then the PeerAuthentication keys', () => {
    const keys = policiesOf(
      [
        podA,
        authorizationPolicy({ name: 'z', namespace: 'foo' }, { selector: { matchLabels: { app: 'a' } } }),
        authorizationPolicy(
          { name: 'a', namespace: 'istio-system' },
          { selector: { matchLabels: { app: 'a' } } },
        ),
        pa('mesh', 'istio-system', { mtls: { mode: 'STRICT' } }),
      ],
      A,
    );
    assert.deepEqual(keys, ['foo/z', 'istio-system/a', STATIC]);
  });
});
