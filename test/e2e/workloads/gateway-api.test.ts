/**
 * The Gateway API and Istio's ingress kinds in the local mesh, before the
 * ingress gateway exists: Bookinfo's gateway files apply, `mesh apply` says
 * plainly that they take no effect yet, `mesh get gateways` lists both kinds,
 * a route that breaks a CRD rule is refused with its field path and changes
 * nothing, and delete removes them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLeftovers } from '../../../src/mesh/cluster/index.js';
import { meshDown } from '../../../src/mesh/local-mesh.js';
import { runAmbit } from '../../support/workloads.js';
import { SAMPLES_DIR, requireBuild } from '../../support/mesh.js';

const ambit = (args: readonly string[], input?: string): ReturnType<typeof runAmbit> => runAmbit(args, 120_000, input);

const GATEWAY_API = join(SAMPLES_DIR, 'bookinfo', 'gateway-api', 'bookinfo-gateway.yaml');
const ISTIO_GATEWAY = join(SAMPLES_DIR, 'bookinfo', 'networking', 'bookinfo-gateway.yaml');

const BAD_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: broken
spec:
  parentRefs:
  - name: bookinfo-gateway
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: productpage
    backendRefs:
    - name: productpage
      port: 9080
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: must-not-land
`;

describe('e2e: Gateway API and Istio gateway kinds in the local mesh (stored, no effect yet)', function () {
  this.timeout(180_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'ambit-e2e-gwapi-'));
  const prefix = `a9m-gw-${randomBytes(3).toString('hex')}`;
  const sd = ['--state-dir', stateDir];

  before(async () => {
    requireBuild();
    const up = await ambit(['mesh', 'up', '--nodes', '1', '--demo', 'none', '--prefix', prefix, ...sd]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
  });

  after(async () => {
    await meshDown(stateDir);
    assert.deepEqual(findLeftovers(prefix), { netns: [], links: [], cgroups: [] });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('applies both Bookinfo gateway files and says which objects take no effect yet', async () => {
    const r = await ambit(['mesh', 'apply', ...sd, '-f', GATEWAY_API, '-f', ISTIO_GATEWAY]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /gateway\.gateway\.networking\.k8s\.io default\/bookinfo-gateway created/);
    assert.match(r.stdout, /httproute default\/bookinfo created/);
    assert.match(r.stdout, /gateway\.networking\.istio\.io default\/bookinfo-gateway created/);
    assert.match(r.stdout, /virtualservice default\/bookinfo created/);
    const note = r.stdout.split('\n').find((l) => l.startsWith('note: stored, but no effect yet'));
    assert.ok(note !== undefined, r.stdout);
    for (const o of ['gateway.gateway.networking.k8s.io default/bookinfo-gateway', 'httproute default/bookinfo', 'gateway.networking.istio.io default/bookinfo-gateway', 'virtualservice default/bookinfo']) {
      assert.ok(note.includes(o), `${o} in: ${note}`);
    }
  });

  it('lists both gateways, the Gateway API one with its class, neither programmed', async () => {
    const r = await ambit(['mesh', 'get', 'gateways', ...sd, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items: { name: string; api: string; class: string; programmed: boolean }[] }).items;
    assert.deepEqual(
      items.map((g) => [g.api, g.name, g.class, g.programmed]).sort(),
      [
        ['gateway.networking.k8s.io', 'bookinfo-gateway', 'istio', false],
        ['networking.istio.io', 'bookinfo-gateway', '', false],
      ],
    );
    const table = await ambit(['mesh', 'get', 'gtw', ...sd]);
    assert.match(table.stdout, /^NAME\s+CLASS\s+ADDRESS\s+PROGRAMMED/);
  });

  it('refuses a route that breaks a CRD rule, naming file, object and field, and applies nothing of that input', async () => {
    const before = readFileSync(join(stateDir, 'applied.json'), 'utf8');
    const r = await ambit(['mesh', 'apply', ...sd, '-f', '-'], BAD_ROUTE);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused, nothing changed/);
    assert.match(r.stderr, /\(stdin\)\[0\] HTTPRoute\/default\/broken: spec\.rules\[0\]\.matches\[0\]\.path\.value: /);
    assert.equal(readFileSync(join(stateDir, 'applied.json'), 'utf8'), before);
  });

  it('deletes them by file, and a second delete says not found', async () => {
    const r = await ambit(['mesh', 'delete', ...sd, '-f', GATEWAY_API]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /httproute default\/bookinfo deleted/);
    const again = await ambit(['mesh', 'delete', ...sd, '-f', GATEWAY_API]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /httproute default\/bookinfo: not found/);
    const left = JSON.parse((await ambit(['mesh', 'get', 'gateways', ...sd, '-o', 'json'])).stdout) as { items: { api: string }[] };
    assert.deepEqual(left.items.map((g) => g.api), ['networking.istio.io']);
  });

  it('creates a namespace as kubectl create namespace does, refusing one that exists without touching its labels', async () => {
    const created = await ambit(['mesh', 'create', 'namespace', 'gw-test', ...sd]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'namespace/gw-test created\n');
    await ambit(['mesh', 'label', 'namespace', 'gw-test', 'team=edge', ...sd]);
    const again = await ambit(['mesh', 'create', 'ns', 'gw-test', ...sd]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /namespace "gw-test" already exists/);
    const file = JSON.parse(readFileSync(join(stateDir, 'applied.json'), 'utf8')) as { objects: { kind: string; name: string; file: string }[] };
    const entry = file.objects.find((o) => o.kind === 'Namespace' && o.name === 'gw-test')!;
    assert.match(readFileSync(join(stateDir, 'config', entry.file), 'utf8'), /team: edge/);
    const bad = await ambit(['mesh', 'create', 'namespace', 'Bad_Name', ...sd]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /metadata\.name: "Bad_Name" is not a valid DNS-1123 label/);
  });
});
