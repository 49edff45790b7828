import assert from 'node:assert/strict';
import type { Container, PodSpec } from '../../../../src/istiod/index.js';
import type { PodRecord } from '../../../../src/mesh/state.js';
import { KNOWN_IMAGES } from '../../../../src/mesh/standins/registry.js';
import { WorkloadError } from '../../../../src/mesh/workloads/errors.js';
import {
  checkCapacity,
  checkWorkloads,
  containerRun,
  planContainers,
  planWorkloads,
  type ContainerRun,
  type DesiredWorkload,
  type WorkloadPlan,
} from '../../../../src/mesh/workloads/plan.js';

const NODES = ['node-a', 'node-b'];

function container(name: string, fields: Partial<Container> = {}): Container {
  return { name, env: [], ports: [], ...fields };
}

const REVIEWS = container('reviews', {
  image: 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.3',
  ports: [{ containerPort: 9080, protocol: 'TCP' }],
});

function deployment(
  name: string,
  fields: Partial<DesiredWorkload> = {},
  spec: Partial<PodSpec> = {},
): DesiredWorkload {
  return {
    kind: 'Deployment',
    namespace: 'demo',
    name,
    where: 'bookinfo.yaml[3]',
    replicas: 1,
    templateHash: 'h1',
    labels: { app: name, 'pod-template-hash': 'h1' },
    annotations: {},
    spec: { containers: [REVIEWS], ...spec },
    ...fields,
  };
}

function podObject(name: string, fields: Partial<DesiredWorkload> = {}): DesiredWorkload {
  return { ...deployment(name), kind: 'Pod', templateHash: 'p1', labels: { app: name }, ...fields };
}

function record(name: string, node: string, owner?: PodRecord['owner'], namespace = 'demo'): PodRecord {
  return {
    name,
    namespace,
    node,
    uid: `uid-${name}`,
    ips: ['10.10.0.9'],
    netns: `ns-${name}`,
    netnsPath: `/run/netns/ns-${name}`,
    cgroup: `/sys/fs/cgroup/${name}`,
    app: name,
    serviceAccount: 'default',
    enrolled: false,
    ...(owner !== undefined ? { owner, containers: [{ name: 'app', image: 'x', run: 'standin', argv: [], env: {}, log: '/dev/null', pid: 1, ports: [] }] } : {}),
  };
}

const owned = (deploy: string, hash: string): PodRecord['owner'] => ({
  kind: 'Deployment',
  name: deploy,
  templateHash: hash,
});

/** A small deterministic random source (an LCG), so two plans from the same seed agree. */
function seeded(seed: number): (max: number) => number {
  let s = seed >>> 0;
  return (max) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % max;
  };
}

function names(pods: readonly { name: string }[]): string[] {
  return pods.map((p) => p.name).sort();
}

function perNode(plan: WorkloadPlan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of plan.create) out[p.node] = (out[p.node] ?? 0) + 1;
  return out;
}

function refusal(code: string, ...parts: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof WorkloadError, `expected a WorkloadError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const p of parts)
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    return true;
  };
}

describe('mesh workloads: plan', () => {
  describe('containerRun', () => {
    const path = 'spec.template.spec.containers[0]';
    const runs: { name: string; c: Container; want: ContainerRun }[] = [
      {
        name: 'a Bookinfo image runs its stand-in with the version from the repository',
        c: REVIEWS,
        want: { kind: 'standin', standin: 'reviews', version: 'v2' },
      },
      {
        name: 'an httpbin image runs the versionless httpbin stand-in',
        c: container('httpbin', { image: 'docker.io/kong/httpbin:0.1.0' }),
        want: { kind: 'standin', standin: 'httpbin' },
      },
      {
        name: 'an unknown image with a command runs command and args on the host',
        c: container('sleep', { image: 'busybox:1.36', command: ['/bin/sleep'], args: ['3600'] }),
        want: { kind: 'host-command', argv: ['/bin/sleep', '3600'] },
      },
      {
        name: 'curlimages/curl with a command runs that command on the host',
        c: container('curl', { image: 'curlimages/curl', command: ['/bin/sleep', 'infinity'] }),
        want: { kind: 'host-command', argv: ['/bin/sleep', 'infinity'] },
      },
    ];
    for (const r of runs) {
      it(`${r.name}: ${r.want.kind}`, () => {
        assert.deepEqual(containerRun(deployment('d'), r.c, path), r.want);
      });
    }

    it('refuses an unknown image without a command, naming file, object, field and the known images', () => {
      const c = container('app', { image: 'example.com/team/app:1.0' });
      assert.throws(
        () => containerRun(deployment('app'), c, path),
        refusal(
          'WORKLOAD_UNKNOWN_IMAGE',
          'bookinfo.yaml[3]',
          'Deployment/demo/app',
          'spec.template.spec.containers[0].image',
          '"example.com/team/app:1.0"',
          KNOWN_IMAGES.join(', '),
        ),
      );
    });

    it('refuses an unknown image that has args but no command (the entrypoint is unknown)', () => {
      const c = container('app', { image: 'example.com/app', args: ['--port', '80'] });
      assert.throws(() => containerRun(deployment('app'), c, path), refusal('WORKLOAD_UNKNOWN_IMAGE'));
    });

    it('refuses curlimages/curl without a command, as it runs only the container command', () => {
      const c = container('curl', { image: 'curlimages/curl:8.8.0' });
      assert.throws(
        () => containerRun(deployment('curl'), c, path),
        refusal('WORKLOAD_UNKNOWN_IMAGE', 'curlimages/curl', 'the container has none', `${path}.image`),
      );
    });

    it('refuses a container with neither image nor command', () => {
      assert.throws(
        () => containerRun(podObject('p'), container('x'), 'spec.containers[0]'),
        refusal('WORKLOAD_UNKNOWN_IMAGE', 'Pod/demo/p', 'spec.containers[0].image'),
      );
    });
  });

  describe('planContainers', () => {
    it('plans each container with its run and its TCP ports only', () => {
      const sidecar = container('echo', {
        image: 'istio/tcp-echo-server:1.3',
        ports: [
          { containerPort: 9000, protocol: 'TCP' },
          { containerPort: 9080, protocol: 'UDP' },
        ],
      });
      const planned = planContainers(deployment('d', {}, { containers: [REVIEWS, sidecar] }));
      assert.deepEqual(
        planned.map((c) => [c.name, c.run.kind, c.ports]),
        [
          ['reviews', 'standin', [9080]],
          ['echo', 'standin', [9000]],
        ],
      );
    });

    it('refuses two containers on one TCP port, at the second one', () => {
      const clash = container('other', {
        image: 'kong/httpbin',
        ports: [{ containerPort: 9080, protocol: 'TCP' }],
      });
      assert.throws(
        () => planContainers(deployment('d', {}, { containers: [REVIEWS, clash] })),
        refusal(
          'WORKLOAD_PORT_CLASH',
          'spec.template.spec.containers[1].ports[0].containerPort',
          '"reviews"',
        ),
      );
    });

    it('refuses host networking', () => {
      assert.throws(
        () => planContainers(deployment('d', {}, { hostNetwork: true })),
        refusal('WORKLOAD_UNSUPPORTED', 'spec.template.spec.hostNetwork'),
      );
    });
  });

  describe('checkWorkloads', () => {
    it('refuses a nodeName that is not a node of this mesh, listing the nodes', () => {
      assert.throws(
        () => checkWorkloads([deployment('d', {}, { nodeName: 'node-z' })], NODES),
        refusal('WORKLOAD_UNSUPPORTED', 'spec.template.spec.nodeName', '"node-z"', 'node-a, node-b'),
      );
    });

    it('accepts a nodeName of this mesh and an empty one', () => {
      checkWorkloads(
        [deployment('d', {}, { nodeName: 'node-b' }), deployment('e', {}, { nodeName: '' })],
        NODES,
      );
    });

    it('refuses the whole batch when any workload cannot run', () => {
      const bad = deployment('bad', {}, { containers: [container('x', { image: 'nope' })] });
      assert.throws(
        () => checkWorkloads([deployment('good'), bad], NODES),
        refusal('WORKLOAD_UNKNOWN_IMAGE', 'Deployment/demo/bad'),
      );
    });
  });

  describe('planWorkloads', () => {
    it('creates the replicas of a new Deployment spread over the nodes: 3 on 2 nodes is 2/1', () => {
      const plan = planWorkloads([deployment('reviews', { replicas: 3 })], [], NODES, seeded(1));
      assert.equal(plan.create.length, 3);
      assert.deepEqual(perNode(plan), { 'node-a': 2, 'node-b': 1 });
      assert.equal(new Set(plan.create.map((p) => p.name)).size, 3);
      for (const p of plan.create) {
        assert.match(p.name, /^reviews-h1-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        assert.deepEqual(p.owner, { kind: 'Deployment', name: 'reviews', templateHash: 'h1' });
        assert.deepEqual(p.labels, { app: 'reviews', 'pod-template-hash': 'h1' });
        assert.equal(p.serviceAccount, 'default');
      }
      assert.deepEqual([plan.keep, plan.remove], [[], []]);
    });

    it('places new pods on the node with the fewest pods when the owner has none yet', () => {
      const busy = [record('demo-1', 'node-a'), record('demo-2', 'node-a')];
      const plan = planWorkloads([deployment('reviews')], busy, NODES, seeded(2));
      assert.deepEqual(perNode(plan), { 'node-b': 1 });
    });

    it('puts every replica on the nodeName of the template', () => {
      const plan = planWorkloads(
        [deployment('reviews', { replicas: 2 }, { nodeName: 'node-b' })],
        [],
        NODES,
        seeded(3),
      );
      assert.deepEqual(perNode(plan), { 'node-b': 2 });
    });

    it('keeps the pods whose template hash is unchanged and creates only the missing ones', () => {
      const current = [record('reviews-h1-bbbbb', 'node-a', owned('reviews', 'h1'))];
      const plan = planWorkloads([deployment('reviews', { replicas: 2 })], current, NODES, seeded(4));
      assert.deepEqual(names(plan.keep), ['reviews-h1-bbbbb']);
      assert.deepEqual(plan.remove, []);
      assert.equal(plan.create.length, 1);
      assert.equal(plan.create[0]?.node, 'node-b', 'the new replica goes where the owner has no pod');
    });

    it('makes again a pod an interrupted apply left without containers, instead of keeping it', () => {
      const broken = { ...record('reviews-h1-bbbbb', 'node-a', owned('reviews', 'h1')), containers: [] };
      const plan = planWorkloads([deployment('reviews', { replicas: 1 })], [broken], NODES, seeded(6));
      assert.deepEqual(plan.keep, []);
      assert.deepEqual(names(plan.remove), ['reviews-h1-bbbbb']);
      assert.equal(plan.create.length, 1);
    });

    it('scales down by removing the extra pods and keeping the rest', () => {
      const current = ['c', 'a', 'b'].map((s) =>
        record(`reviews-h1-${s.repeat(5)}`, 'node-a', owned('reviews', 'h1')),
      );
      const plan = planWorkloads([deployment('reviews', { replicas: 1 })], current, NODES, seeded(5));
      assert.deepEqual(names(plan.keep), ['reviews-h1-aaaaa']);
      assert.deepEqual(names(plan.remove), ['reviews-h1-bbbbb', 'reviews-h1-ccccc']);
      assert.deepEqual(plan.create, []);
    });

    it('scales to zero by removing every pod', () => {
      const current = [record('reviews-h1-bbbbb', 'node-a', owned('reviews', 'h1'))];
      const plan = planWorkloads([deployment('reviews', { replicas: 0 })], current, NODES, seeded(6));
      assert.deepEqual([plan.keep, names(plan.remove), plan.create], [[], ['reviews-h1-bbbbb'], []]);
    });

    it('replaces every pod when the template hash changed', () => {
      const current = [
        record('reviews-h1-bbbbb', 'node-a', owned('reviews', 'h1')),
        record('reviews-h1-ccccc', 'node-b', owned('reviews', 'h1')),
      ];
      const plan = planWorkloads(
        [deployment('reviews', { replicas: 2, templateHash: 'h2' })],
        current,
        NODES,
        seeded(7),
      );
      assert.deepEqual(plan.keep, []);
      assert.deepEqual(names(plan.remove), ['reviews-h1-bbbbb', 'reviews-h1-ccccc']);
      assert.equal(plan.create.length, 2);
      assert.deepEqual(perNode(plan), { 'node-a': 1, 'node-b': 1 });
      for (const p of plan.create) assert.match(p.name, /^reviews-h2-/);
    });

    it('removes the pods of an owner that is no longer desired', () => {
      const current = [
        record('ratings-h1-bbbbb', 'node-a', owned('ratings', 'h1')),
        record('reviews-h1-bbbbb', 'node-b', owned('reviews', 'h1')),
      ];
      const plan = planWorkloads([deployment('reviews')], current, NODES, seeded(8));
      assert.deepEqual(names(plan.remove), ['ratings-h1-bbbbb']);
      assert.deepEqual(names(plan.keep), ['reviews-h1-bbbbb']);
    });

    it('tells owners apart by namespace and kind', () => {
      const current = [
        record('reviews-h1-bbbbb', 'node-a', owned('reviews', 'h1'), 'other'),
        record('reviews', 'node-a', { kind: 'Pod', name: 'reviews', templateHash: 'h1' }),
      ];
      const plan = planWorkloads([deployment('reviews')], current, NODES, seeded(9));
      assert.deepEqual(plan.remove.map((p) => `${p.namespace}/${p.name}`).sort(), [
        'demo/reviews',
        'other/reviews-h1-bbbbb',
      ]);
      assert.equal(plan.create.length, 1);
    });

    it('never touches the demo pods, which have no owner', () => {
      const demo = [record('frontend', 'node-a'), record('backend', 'node-b')];
      const plan = planWorkloads([], demo, NODES, seeded(10));
      assert.deepEqual(plan, { create: [], keep: [], remove: [] });
      const withWork = planWorkloads([deployment('reviews', { replicas: 2 })], demo, NODES, seeded(10));
      assert.deepEqual([withWork.keep, withWork.remove], [[], []]);
    });

    it('gives a Pod object its own name, and replaces it when its spec changed', () => {
      const fresh = planWorkloads([podObject('curl')], [], NODES, seeded(11));
      assert.deepEqual(
        fresh.create.map((p) => [p.name, p.owner.kind]),
        [['curl', 'Pod']],
      );
      const current = [record('curl', 'node-b', { kind: 'Pod', name: 'curl', templateHash: 'p0' })];
      const changed = planWorkloads([podObject('curl')], current, NODES, seeded(11));
      assert.deepEqual([names(changed.remove), names(changed.create)], [['curl'], ['curl']]);
      const same = planWorkloads([podObject('curl', { templateHash: 'p0' })], current, NODES, seeded(11));
      assert.deepEqual([names(same.keep), same.create, same.remove], [['curl'], [], []]);
    });

    it('never reuses a name taken in the namespace', () => {
      // The first draw would give reviews-h1-bbbbb, which exists (owned by a changed template).
      const current = [record('reviews-h1-bbbbb', 'node-a', owned('reviews', 'h0'))];
      let draws = 0;
      const random = (max: number): number => (draws++ < 5 ? 0 : 1 % max);
      const plan = planWorkloads([deployment('reviews')], current, NODES, random);
      assert.deepEqual(names(plan.create), ['reviews-h1-ccccc']);
    });

    it('is deterministic for a given random source', () => {
      const w = [
        deployment('reviews', { replicas: 3 }),
        deployment('ratings', { replicas: 2, templateHash: 'h9' }),
      ];
      const current = [record('frontend', 'node-a')];
      assert.deepEqual(
        planWorkloads(w, current, NODES, seeded(42)),
        planWorkloads(w, current, NODES, seeded(42)),
      );
    });

    it('refuses before planning when a workload cannot run', () => {
      assert.throws(
        () => planWorkloads([deployment('d', {}, { hostNetwork: true })], [], NODES, seeded(1)),
        refusal('WORKLOAD_UNSUPPORTED'),
      );
    });
  });

  describe('checkCapacity', () => {
    it('accepts workloads that fit the nodes\' addresses, and refuses the incoming one whose replicas go over, at spec.replicas', () => {
      const kept = deployment('kept', { replicas: 3 });
      const big = deployment('big', { replicas: 2 });
      assert.doesNotThrow(() => checkCapacity([kept, big], new Set(['Deployment/demo/big']), 1, 2, 3));
      assert.throws(
        () => checkCapacity([kept, deployment('big', { replicas: 3 })], new Set(['Deployment/demo/big']), 1, 2, 3),
        refusal('WORKLOAD_NO_ROOM', 'Deployment/demo/big', 'spec.replicas', '7 pods would not fit: 2 node(s) have room for 6'),
      );
    });
  });
});
