/**
 * Istio's sample apps on the local mesh, applied from examples/samples as a
 * user would (files unmodified) into `default` labelled ambient: every pod
 * becomes ready and enrolled, and each app answers through the mesh the way
 * the real image does — Bookinfo's page, API and login, go-httpbin, both
 * helloworld versions, tcp-echo, the per-version reviews Services — with
 * the connections counted by the agents as mutual TLS between the right
 * identities.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/mesh.js';
import { SAMPLES, TestMesh } from '../../support/workloads.js';

const POD_KEYS = ['containers', 'createdAt', 'enrolled', 'identity', 'ip', 'ips', 'labels', 'name', 'namespace', 'node', 'owner', 'ready', 'status'];
/** Requests before each of a load-balanced set of pods must have answered (three pods, random or round-robin picks). */
const MAX_SPREAD_REQUESTS = 30;

/**
 * A productpage that takes its details from a pod echoing its request
 * headers as JSON: `/api/v1/products/0` then shows what productpage sent
 * to details — the `end-user` it derives from the login cookie included.
 */
const HEADER_ECHO_MANIFEST = `
apiVersion: v1
kind: Service
metadata:
  name: header-echo
spec:
  ports:
  - port: 9080
    name: http
  selector:
    app: header-echo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: header-echo
spec:
  replicas: 1
  selector:
    matchLabels:
      app: header-echo
  template:
    metadata:
      labels:
        app: header-echo
    spec:
      containers:
      - name: echo
        image: example.com/header-echo:1
        command:
        - ${JSON.stringify(process.execPath)}
        - -e
        - "require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify(q.headers)); }).listen(9080)"
        ports:
        - containerPort: 9080
---
apiVersion: v1
kind: Service
metadata:
  name: productpage-echo
spec:
  ports:
  - port: 9080
    name: http
  selector:
    app: productpage-echo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: productpage-echo
spec:
  replicas: 1
  selector:
    matchLabels:
      app: productpage-echo
  template:
    metadata:
      labels:
        app: productpage-echo
    spec:
      serviceAccountName: bookinfo-productpage
      containers:
      - name: productpage
        image: docker.io/istio/examples-bookinfo-productpage-v1:1.20.3
        env:
        - name: DETAILS_HOSTNAME
          value: header-echo
        ports:
        - containerPort: 9080
`;

describe('e2e: the Istio sample manifests run on the local mesh and answer through it', function () {
  this.timeout(60_000);
  const mesh = new TestMesh('wl-samples');
  /** Pod names by Deployment, read once everything is ready. */
  const podsOf = new Map<string, string[]>();

  before(async function () {
    this.timeout(120_000);
    await mesh.up(2);
  });

  after(async function () {
    this.timeout(120_000);
    await mesh.down();
  });

  it('applies every sample into the ambient default namespace and mesh wait --all exits 0', async () => {
    const label = await mesh.ok(['mesh', 'label', 'namespace', 'default', 'istio.io/dataplane-mode=ambient']);
    assert.match(label.stdout, /^namespace\/default labeled$/m);
    for (const file of Object.values(SAMPLES)) {
      const r = await mesh.ok(['mesh', 'apply', '-f', file]);
      assert.match(r.stdout, new RegExp(` created from ${file}$`, 'm'));
    }
    const wait = await mesh.ok(['mesh', 'wait', '--all', '--timeout', '60s'], 90_000);
    assert.match(wait.stdout, /^11 pod\(s\) ready: /);
    for (const p of await mesh.pods('default')) {
      const owner = p.owner.replace(/^Deployment\//, '');
      podsOf.set(owner, [...(podsOf.get(owner) ?? []), p.name]);
    }
    assert.deepEqual([...podsOf.keys()].sort(), [
      'curl', 'details-v1', 'helloworld-v1', 'helloworld-v2', 'httpbin', 'productpage-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'tcp-echo',
    ]);
  });

  it('lists the pods as JSON with the documented keys, running, ready and enrolled with their service account identity', async () => {
    const pods = await mesh.pods('default');
    assert.equal(pods.length, 11);
    for (const p of pods) {
      assert.deepEqual(Object.keys(p).sort(), POD_KEYS, p.name);
      assert.equal(p.status, 'Running', p.name);
      assert.equal(p.ready, '1/1', p.name);
      assert.equal(p.enrolled, true, p.name);
      assert.equal(p.ip, p.ips[0]);
      assert.match(p.ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(p.labels['pod-template-hash'] !== undefined && p.name.includes(`-${p.labels['pod-template-hash']}-`), p.name);
      assert.ok(p.containers.every((c) => c.running && c.pid > 0), p.name);
      assert.ok(!Number.isNaN(Date.parse(p.createdAt)), p.name);
    }
    const byName = (prefix: string) => pods.find((p) => p.name.startsWith(prefix))!;
    assert.equal(byName('productpage-v1-').identity, 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
    assert.equal(byName('curl-').identity, 'spiffe://cluster.local/ns/default/sa/curl');
    assert.equal(byName('helloworld-v1-').identity, 'spiffe://cluster.local/ns/default/sa/default');
    assert.deepEqual(new Set(pods.map((p) => p.node)), new Set(['node0', 'node1']), 'pods are spread over both nodes');
  });

  it('lists the Deployments as JSON and the Services with their cluster IPs', async () => {
    const deployments = await mesh.deployments('default');
    assert.equal(deployments.length, 11);
    for (const d of deployments) {
      assert.deepEqual({ replicas: d.replicas, ready: d.ready, upToDate: d.upToDate, pods: d.pods }, { replicas: 1, ready: 1, upToDate: 1, pods: podsOf.get(d.name) }, d.name);
    }
    assert.deepEqual(deployments.find((d) => d.name === 'reviews-v3')?.images, ['docker.io/istio/examples-bookinfo-reviews-v3:1.20.3']);
    const table = await mesh.ok(['mesh', 'get', 'services']);
    assert.match(table.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+PORT\(S\)$/m);
    for (const [name, ports] of [['productpage', '9080/TCP'], ['httpbin', '8000:8080/TCP'], ['tcp-echo', '9000/TCP,9001/TCP'], ['reviews-v1', '9080/TCP']]) {
      assert.match(table.stdout, new RegExp(`^${name}\\s+ClusterIP\\s+\\d+\\.\\d+\\.\\d+\\.\\d+\\s+${ports}$`, 'm'));
    }
    const ips = (await mesh.services('default')).map((s) => s.clusterIp);
    assert.equal(new Set(ips).size, ips.length, 'every Service has its own cluster IP');
  });

  it('serves the productpage from every reviews version: v1 without stars, v2 black stars, v3 red stars', async () => {
    const seen = new Map<string, string>();
    const want = ['reviews-v1', 'reviews-v2', 'reviews-v3'].map((d) => podsOf.get(d)![0]!);
    for (let i = 0; i < MAX_SPREAD_REQUESTS && seen.size < want.length; i++) {
      const page = await mesh.curl(['http://productpage:9080/productpage']);
      assert.match(page, /<title>Simple Bookstore App<\/title>/);
      assert.match(page, /The Comedy of Errors/);
      assert.match(page, /<h4 class="text-3xl font-semibold">Book Details<\/h4>/);
      const servedBy = [...page.matchAll(/Reviews served by: ([^<\s]+)/g)].map((m) => m[1]!);
      assert.equal(servedBy.length, 2, 'two reviews, each naming the pod that served it');
      assert.equal(new Set(servedBy).size, 1);
      seen.set(servedBy[0]!, page);
    }
    assert.deepEqual([...seen.keys()].sort(), want.sort(), `reviews pods seen in ${MAX_SPREAD_REQUESTS} requests`);
    const [v1, v2, v3] = want.map((pod) => seen.get(pod)!);
    assert.doesNotMatch(v1!, /star-filled/);
    assert.match(v2!, /<div class="flex gap-x-1 text-black-500">/);
    assert.match(v3!, /<div class="flex gap-x-1 text-red-500">/);
    // Reviewer1 gets 5 stars, Reviewer2 4 (ratings' fixed answer).
    for (const page of [v2!, v3!]) assert.equal(page.split('star-filled').length - 1, 9);
  });

  it('answers /api/v1/products/0/reviews with the reviews JSON', async () => {
    const body = JSON.parse(await mesh.curl(['http://productpage:9080/api/v1/products/0/reviews'])) as {
      id: string;
      podname: string;
      clustername: string;
      reviews: { reviewer: string; text: string; rating?: { stars: number; color: string } }[];
    };
    assert.deepEqual(Object.keys(body), ['id', 'podname', 'clustername', 'reviews']);
    assert.equal(body.id, '0');
    assert.equal(body.clustername, 'null');
    assert.match(body.podname, /^reviews-v[123]-/);
    assert.deepEqual(body.reviews.map((r) => r.reviewer), ['Reviewer1', 'Reviewer2']);
    for (const r of body.reviews) assert.ok(r.text.length > 0);
    if (!body.podname.startsWith('reviews-v1-')) assert.deepEqual(body.reviews.map((r) => r.rating?.stars), [5, 4]);
  });

  it('logs in with a session cookie, shows the user, and forwards it to the backends as end-user', async () => {
    const login = await mesh.curl(['-i', '-X', 'POST', '-d', 'username=jason&passwd=x', 'http://productpage:9080/login']);
    assert.match(login, /^HTTP\/1\.1 302 /);
    assert.match(login, /^location: \/productpage\r$/im);
    const cookie = /^set-cookie: (session=[^;\r]+)/im.exec(login)?.[1];
    assert.ok(cookie !== undefined, login);
    const page = await mesh.curl(['-H', `cookie: ${cookie}`, 'http://productpage:9080/productpage']);
    assert.match(page, /<div class="user"><p>jason<\/p><a href="logout">Sign out<\/a><\/div>/);
    const anonymous = await mesh.curl(['http://productpage:9080/productpage']);
    assert.match(anonymous, /id="sign-in-button"/);

    // What productpage sends its details backend, seen by a header-echo pod standing in for details.
    const dir = mkdtempSync(join(tmpdir(), 'a9m-wl-echo-'));
    try {
      const file = join(dir, 'productpage-echo.yaml');
      writeFileSync(file, HEADER_ECHO_MANIFEST);
      await mesh.ok(['mesh', 'apply', '-f', file]);
      await mesh.ok(['mesh', 'wait', 'deploy/header-echo', '--timeout', '30s']);
      await mesh.ok(['mesh', 'wait', 'deploy/productpage-echo', '--timeout', '30s']);
      const sent = JSON.parse(await mesh.curl(['-H', `cookie: ${cookie}`, 'http://productpage-echo:9080/api/v1/products/0'])) as Record<string, string>;
      assert.equal(sent['end-user'], 'jason');
      assert.equal(sent['cookie'], cookie);
      const anon = JSON.parse(await mesh.curl(['http://productpage-echo:9080/api/v1/products/0'])) as Record<string, string>;
      assert.equal(anon['end-user'], undefined);
      await mesh.ok(['mesh', 'delete', '-f', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers httpbin's /headers (service port 8000 to targetPort 8080) and /status/418 as go-httpbin does", async () => {
    const headers = JSON.parse(await mesh.curl(['-H', 'x-probe: a9m', 'http://httpbin:8000/headers'])) as { headers: Record<string, string[]> };
    assert.deepEqual(Object.keys(headers), ['headers']);
    assert.deepEqual(headers.headers['Host'], ['httpbin:8000']);
    assert.deepEqual(headers.headers['X-Probe'], ['a9m']);
    assert.ok(Object.values(headers.headers).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string')), 'go-httpbin lists every header value');
    const teapot = await mesh.curl(['-i', 'http://httpbin:8000/status/418']);
    assert.match(teapot, /^HTTP\/1\.1 418 /);
    assert.match(teapot, /I'm a teapot!$/);
  });

  it('answers helloworld /hello from both the v1 and the v2 pod', async () => {
    const want = new Map([
      [podsOf.get('helloworld-v1')![0]!, 'v1'],
      [podsOf.get('helloworld-v2')![0]!, 'v2'],
    ]);
    const seen = new Set<string>();
    for (let i = 0; i < MAX_SPREAD_REQUESTS && seen.size < want.size; i++) {
      const hello = await mesh.curl(['http://helloworld:5000/hello']);
      const m = /^Hello version: (v[12]), instance: (\S+)\n$/.exec(hello);
      assert.ok(m !== null, hello);
      assert.equal(want.get(m[2]!), m[1], `${m[2]} answers its own version`);
      seen.add(m[2]!);
    }
    assert.deepEqual([...seen].sort(), [...want.keys()].sort(), `helloworld pods seen in ${MAX_SPREAD_REQUESTS} requests`);
  });

  it('echoes lines on tcp-echo 9000 and 9001 with the "hello" prefix', async () => {
    assert.equal(await mesh.tcpExchange('tcp-echo', 9000, 'world\nagain\n'), 'hello world\nhello again\n');
    assert.equal(await mesh.tcpExchange('tcp-echo', 9001, 'other port\n'), 'hello other port\n');
  });

  it('routes the reviews-v1 Service of bookinfo-versions only to the reviews-v1 pod', async () => {
    const v1 = podsOf.get('reviews-v1')![0]!;
    for (let i = 0; i < 6; i++) {
      const body = JSON.parse(await mesh.curl(['http://reviews-v1:9080/reviews/0'])) as { podname: string; reviews: { rating?: unknown }[] };
      assert.equal(body.podname, v1);
      assert.ok(body.reviews.every((r) => r.rating === undefined), 'v1 does not call ratings');
    }
    const v3 = JSON.parse(await mesh.curl(['http://reviews-v3:9080/reviews/0'])) as { podname: string };
    assert.equal(v3.podname, podsOf.get('reviews-v3')![0]);
  });

  it("shows productpage's request lines in mesh logs deploy/productpage-v1", async () => {
    const logs = await mesh.ok(['mesh', 'logs', 'deploy/productpage-v1']);
    const requests = logs.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; method?: string; path?: string; status?: number })
      .filter((l) => l.msg === 'request');
    assert.ok(requests.some((r) => r.method === 'GET' && r.path === '/productpage' && r.status === 200), logs.stdout.slice(-2000));
    assert.ok(requests.some((r) => r.method === 'POST' && r.path === '/login' && r.status === 302));
    assert.ok(requests.some((r) => r.path === '/api/v1/products/0/reviews'));
  });

  it('counts the curl -> productpage connections at both ends as mutual TLS between sa/curl and sa/bookinfo-productpage', async () => {
    const labels = {
      source_principal: 'spiffe://cluster.local/ns/default/sa/curl',
      destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
      destination_service: 'productpage.default.svc.cluster.local',
      connection_security_policy: 'mutual_tls',
    };
    const before = await mesh.metric('istio_tcp_connections_opened_total', { ...labels, reporter: 'destination' });
    assert.ok(before > 0, 'the earlier requests were counted');
    await mesh.curl(['http://productpage:9080/productpage']);
    await eventually(
      async () => (await mesh.metric('istio_tcp_connections_opened_total', { ...labels, reporter: 'destination' })) > before,
      'the new connection is counted by the destination agent',
    );
    assert.ok((await mesh.metric('istio_tcp_connections_opened_total', { ...labels, reporter: 'source' })) > 0, 'and by the source agent');
  });
});
