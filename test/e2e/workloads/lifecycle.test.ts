/**
 * The life of applied workloads on the local mesh: bad input refused whole
 * (file, object and field path; nothing applied), Deployments scaled up and
 * down and rolled on a template change, an unknown image run by its
 * command, a killed container and a killed node agent repaired by `mesh up`,
 * and `mesh down` leaving no namespace, cgroup, link, /etc/netns dir,
 * process or applied file behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLeftovers, listNetns } from '../../../src/mesh/cluster/index.js';
import { isAlive } from '../../../src/mesh/state.js';
import { eventually } from '../../support/mesh.js';
import { processGuard } from '../../support/process-guard.js';
import { etcNetnsOf, SAMPLES, TestMesh } from '../../support/workloads.js';

/** A valid object every refused file also holds: it must not be applied either. */
const VALID_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: must-not-exist
spec:
  ports:
  - port: 80
  selector:
    app: nothing
`;

function deployment(name: string, containers: string, opts: { replicas?: number; labels?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${opts.replicas ?? 1}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: ${opts.labels ?? `{app: ${name}}`}
    spec:
      containers:
${containers}`;
}

const REFUSED = [
  {
    name: 'an unknown kind',
    doc: 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec: {}\n',
    want: /StatefulSet\/\?\/db: kind: unsupported kind "StatefulSet"/,
  },
  {
    name: 'a selector that does not match the template labels',
    doc: deployment('sel', '      - name: c\n        image: docker.io/mccutchen/go-httpbin:v2.15.0\n', { labels: '{app: other}' }),
    want: /Deployment\/default\/sel: spec\.template\.metadata\.labels: `selector` does not match/,
  },
  {
    name: 'an unknown image without a command',
    doc: deployment('img', '      - name: c\n        image: example.com/unknown:1\n'),
    want: /Deployment\/default\/img: spec\.template\.spec\.containers\[0\]\.image: image "example\.com\/unknown:1" .*known images: .*istio\/examples-bookinfo-productpage-v1/,
  },
  {
    name: 'two containers on one containerPort',
    doc: deployment(
      'port',
      '      - name: c\n        image: docker.io/mccutchen/go-httpbin:v2.15.0\n        ports: [{containerPort: 8080}]\n' +
        '      - name: d\n        image: docker.io/istio/examples-helloworld-v1:1.0\n        ports: [{containerPort: 8080}]\n',
    ),
    want: /Deployment\/default\/port: spec\.template\.spec\.containers\[1\]\.ports\[0\]\.containerPort: port 8080\/TCP is already taken by container "c"/,
  },
];

const scaler = (replicas: number, greeting: string): string =>
  deployment('scaler', `      - name: hello\n        image: docker.io/istio/examples-helloworld-v1:1.0\n        env:\n        - {name: GREETING, value: "${greeting}"}\n        ports: [{containerPort: 5000}]\n`, { replicas });

/** An image ambit has no stand-in for, run by its command (node on the host) inside the pod. */
const TOOL = `apiVersion: v1
kind: Service
metadata:
  name: tool
spec:
  ports:
  - {port: 7070, name: http}
  selector:
    app: tool
---
${deployment(
  'tool',
  `      - name: tool
        image: example.com/tool:1
        command:
        - ${JSON.stringify(process.execPath)}
        - -e
        - "require('http').createServer((q, s) => s.end('ok')).listen(7070)"
        ports: [{containerPort: 7070}]
`,
)}`;

describe('e2e: workload lifecycle on the local mesh: refusals, scaling, host commands, repair, down', function () {
  this.timeout(60_000);
  const mesh = new TestMesh('wl-life');
  const dir = mkdtempSync(join(tmpdir(), 'a9m-wl-life-'));
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  before(async function () {
    this.timeout(120_000);
    await mesh.up(2);
    await mesh.ok(['mesh', 'label', 'namespace', 'default', 'istio.io/dataplane-mode=ambient']);
    await mesh.ok(['mesh', 'apply', '-f', SAMPLES.curl]);
    await mesh.ok(['mesh', 'wait', 'deploy/curl', '--timeout', '30s']);
  });

  after(async function () {
    this.timeout(120_000);
    rmSync(dir, { recursive: true, force: true });
    await mesh.down();
  });

  /** What an apply could change: pods, the applied index, istiod's and the mesh's object files. */
  const snapshot = async () => {
    const s = mesh.state();
    return {
      pods: (await mesh.pods()).map((p) => `${p.namespace}/${p.name}`).sort(),
      applied: readFileSync(join(mesh.stateDir, 'applied.json'), 'utf8'),
      config: readdirSync(s.configDir).sort(),
      objects: readdirSync(join(mesh.stateDir, 'objects')).sort(),
    };
  };

  for (const c of REFUSED) {
    it(`refuses ${c.name} with file, object and field path, and applies nothing of the file`, async () => {
      const file = write(`bad-${c.name.replace(/\W+/g, '-')}.yaml`, `${VALID_SERVICE}---\n${c.doc}`);
      const before = await snapshot();
      const r = await mesh.ambit(['mesh', 'apply', '-f', file]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^ambit mesh apply: refused, nothing changed:/);
      assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\[1\\] `));
      assert.match(r.stderr, c.want);
      assert.equal(r.stdout, '');
      assert.deepEqual(await snapshot(), before);
    });
  }

  it('says not found and exits 1 on deleting an object that was never applied', async () => {
    const r = await mesh.ambit(['mesh', 'delete', 'deployment/default/never-applied']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /deployment default\/never-applied: not found/);
  });

  it('scales a Deployment to 3 pods over both nodes, back to 1 (the others and their netns gone), rolls it on a template change, and deletes it', async () => {
    const file = join(dir, 'scaler.yaml');
    writeFileSync(file, scaler(3, 'one'));
    await mesh.ok(['mesh', 'apply', '-f', file]);
    await mesh.ok(['mesh', 'wait', 'deploy/scaler', '--timeout', '30s']);
    const three = await mesh.podsOf('scaler');
    assert.equal(three.length, 3);
    assert.deepEqual(new Set(three.map((p) => p.node)), new Set(['node0', 'node1']));
    const netnsOf = new Map(mesh.state().pods.map((p) => [p.name, p.netns]));

    writeFileSync(file, scaler(1, 'one'));
    const down = await mesh.ok(['mesh', 'apply', '-f', file]);
    const one = await mesh.podsOf('scaler');
    assert.equal(one.length, 1);
    assert.ok(three.some((p) => p.name === one[0]!.name), 'the kept pod is one of the three');
    const removed = three.filter((p) => p.name !== one[0]!.name);
    for (const p of removed) {
      assert.match(down.stdout, new RegExp(`^pod default/${p.name} removed$`, 'm'));
      assert.equal(listNetns().includes(netnsOf.get(p.name)!), false, `${p.name}'s netns is gone`);
      assert.equal(existsSync(join('/etc/netns', netnsOf.get(p.name)!)), false);
    }

    writeFileSync(file, scaler(1, 'two'));
    await mesh.ok(['mesh', 'apply', '-f', file]);
    await mesh.ok(['mesh', 'wait', 'deploy/scaler', '--timeout', '30s']);
    const rolled = await mesh.podsOf('scaler');
    assert.equal(rolled.length, 1);
    assert.notEqual(rolled[0]!.labels['pod-template-hash'], one[0]!.labels['pod-template-hash']);
    assert.notEqual(rolled[0]!.name, one[0]!.name);
    const [d] = (await mesh.deployments()).filter((x) => x.name === 'scaler');
    assert.deepEqual({ replicas: d!.replicas, upToDate: d!.upToDate, pods: d!.pods }, { replicas: 1, upToDate: 1, pods: [rolled[0]!.name] });

    const rolledNetns = mesh.state().pods.find((p) => p.name === rolled[0]!.name)!.netns;
    await mesh.ok(['mesh', 'delete', '-f', file]);
    assert.deepEqual(await mesh.podsOf('scaler'), []);
    assert.equal(listNetns().includes(rolledNetns), false);
    assert.equal(etcNetnsOf(mesh.prefix).includes(rolledNetns), false);
  });

  it('runs an unknown image by its command as a host process in the pod, answering through the mesh', async () => {
    await mesh.ok(['mesh', 'apply', '-f', write('tool.yaml', TOOL)]);
    await mesh.ok(['mesh', 'wait', 'deploy/tool', '--timeout', '30s']);
    const [pod] = await mesh.podsOf('tool');
    assert.equal(pod!.enrolled, true);
    const cmdline = readFileSync(`/proc/${pod!.containers[0]!.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(cmdline[0], process.execPath);
    assert.equal(await mesh.curl(['http://tool:7070/']), 'ok');
    const counted = await mesh.metric('istio_tcp_connections_opened_total', {
      reporter: 'destination',
      destination_workload: 'tool',
      source_principal: 'spiffe://cluster.local/ns/default/sa/curl',
      connection_security_policy: 'mutual_tls',
    });
    assert.ok(counted > 0, 'curl -> tool went over mTLS');
  });

  it('shows a SIGKILLed container as not running, mesh wait naming it, until mesh up restarts it', async () => {
    const [pod] = await mesh.podsOf('tool');
    const pid = pod!.containers[0]!.pid;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => !isAlive(pid), 'the container process is gone', 5_000, 50);
    const [dead] = await mesh.podsOf('tool');
    assert.notEqual(dead!.status, 'Running');
    assert.equal(dead!.containers[0]!.running, false);
    const wait = await mesh.ambit(['mesh', 'wait', 'deploy/tool', '--timeout', '1s']);
    assert.equal(wait.code, 1);
    assert.match(wait.stderr, new RegExp(`default/${pod!.name}: container tool is not running`));

    const up = await mesh.ok(['mesh', 'up']);
    assert.match(up.stdout, new RegExp(`restarted .*container default/${pod!.name}/tool`));
    await mesh.ok(['mesh', 'wait', 'deploy/tool', '--timeout', '30s']);
    const [back] = await mesh.podsOf('tool');
    assert.equal(back!.name, pod!.name, 'the same pod, its container restarted');
    assert.notEqual(back!.containers[0]!.pid, pid);
    await eventually(async () => (await mesh.exec('deploy/curl', ['curl', '-s', '-m', '3', 'http://tool:7070/'])).stdout === 'ok', 'the restarted container answers');
  });

  it('fails mesh label within bounded time while the node agent is stopped (SIGSTOP), and succeeds once it runs again', async () => {
    const ns = 'stop-test';
    const manifest = readFileSync(SAMPLES.curl, 'utf8').replace(/^ {2}name: curl$/gm, `  name: curl\n  namespace: ${ns}`);
    await mesh.ok(['mesh', 'apply', '-f', write('stop-test.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n---\n${manifest}`)]);
    await mesh.ok(['mesh', 'wait', '-n', ns, '--all', '--timeout', '30s']);
    const [pod] = await mesh.pods(ns);
    const agent = mesh.state().agents.find((a) => a.node === pod!.node)!;
    process.kill(agent.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const failed = await mesh.ambit(['mesh', 'label', 'namespace', ns, 'istio.io/dataplane-mode=ambient']);
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, /no Hello from the agent within \d+ ms|no answer to AddPod within \d+ ms/);
      assert.doesNotMatch(failed.stderr, /\n\s+at /, 'a message, not a stack trace');
      assert.ok(Date.now() - started < 30_000, 'the stopped agent does not hang the command');
    } finally {
      process.kill(agent.pid, 'SIGCONT');
    }
    const label = await mesh.ok(['mesh', 'label', 'namespace', ns, 'istio.io/dataplane-mode=ambient']);
    assert.match(label.stdout, new RegExp(`^pod ${ns}/${pod!.name} enrolled$`, 'm'));
    await mesh.ok(['mesh', 'wait', '-n', ns, '--all', '--timeout', '30s']);
  });

  it('fails mesh label clearly while the node agent of a pod is dead, and succeeds once mesh up repaired it', async () => {
    const ns = 'lbl-test';
    const manifest = readFileSync(SAMPLES.curl, 'utf8').replace(/^ {2}name: curl$/gm, `  name: curl\n  namespace: ${ns}`);
    await mesh.ok(['mesh', 'apply', '-f', write('lbl-test.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n---\n${manifest}`)]);
    await mesh.ok(['mesh', 'wait', '-n', ns, '--all', '--timeout', '30s']);
    const [pod] = await mesh.pods(ns);
    assert.equal(pod!.enrolled, false);
    const agent = mesh.state().agents.find((a) => a.node === pod!.node)!;
    processGuard.expectExit(agent.pid);
    process.kill(agent.pid, 'SIGKILL');
    await eventually(async () => !isAlive(agent.pid), 'the agent is gone', 5_000, 50);

    const failed = await mesh.ambit(['mesh', 'label', 'namespace', ns, 'istio.io/dataplane-mode=ambient']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /no node agent is listening/);
    assert.match(failed.stderr, new RegExp(agent.enrollSocket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.doesNotMatch(failed.stderr, /\n\s+at /, 'a message, not a stack trace');
    assert.equal((await mesh.pods(ns))[0]!.enrolled, false);

    // The label was written before the agent could be reached: the repair finishes the enrollment.
    const up = await mesh.ok(['mesh', 'up']);
    assert.match(up.stdout, new RegExp(`restarted .*agent ${pod!.node}`));
    assert.match(up.stdout, new RegExp(`enrollment of ${ns}/${pod!.name}`));
    mesh.guard();
    const label = await mesh.ok(['mesh', 'label', 'namespace', ns, 'istio.io/dataplane-mode=ambient']);
    assert.match(label.stdout, new RegExp(`^namespace/${ns} labeled$`, 'm'));
    await mesh.ok(['mesh', 'wait', '-A', '--all', '--timeout', '30s']);
    assert.equal((await mesh.pods(ns))[0]!.enrolled, true);
  });

  it('leaves nothing behind after mesh down: no netns, cgroup, link, /etc/netns dir, container process or applied file', async () => {
    const state = mesh.state();
    const pids = state.pods.flatMap((p) => (p.containers ?? []).map((c) => c.pid));
    assert.equal(pids.length, 4, 'curl, tool and the stop-test and lbl-test curls');
    assert.ok(pids.every(isAlive));
    mesh.unguard();
    const down = await mesh.ok(['mesh', 'down']);
    assert.match(down.stdout, /removed/);
    assert.deepEqual(findLeftovers(mesh.prefix), { netns: [], links: [], cgroups: [] });
    assert.deepEqual(etcNetnsOf(mesh.prefix), []);
    for (const pid of pids) assert.equal(isAlive(pid), false, `container pid ${pid} still runs`);
    for (const made of ['config', 'objects', 'pods', 'applied.json', 'mesh.json']) {
      assert.equal(existsSync(join(mesh.stateDir, made)), false, `${made} is left in the state dir`);
    }
  });
});
