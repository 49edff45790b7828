/**
 * Enrollment follows Istio's labels on a running namespace: httpbin and
 * curl start outside the mesh (plaintext, nothing in the agents' metrics
 * for httpbin's identity); labelling the namespace
 * `istio.io/dataplane-mode=ambient` enrolls the same processes without a
 * restart (mutual TLS between their identities); removing the label
 * releases them (traffic flows, the mTLS counter stands still); and a pod
 * labelled `istio.io/dataplane-mode: none` stays out in an ambient namespace.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { eventually } from '../../support/mesh.js';
import { SAMPLES, TestMesh } from '../../support/workloads.js';

const NS = 'enroll-test';
const CURL_ID = `spiffe://cluster.local/ns/${NS}/sa/curl`;
const HTTPBIN_ID = `spiffe://cluster.local/ns/${NS}/sa/httpbin`;
const OPENED = 'istio_tcp_connections_opened_total';
const MTLS_TO_HTTPBIN = { source_principal: CURL_ID, destination_principal: HTTPBIN_ID, connection_security_policy: 'mutual_tls', reporter: 'destination' };

/** The documents of a sample file, moved into `namespace`. */
function inNamespace(file: string, namespace: string): string {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      const o = d.toJS() as { metadata: Record<string, unknown> };
      o.metadata = { ...o.metadata, namespace };
      return stringify(o);
    })
    .join('---\n');
}

/** A curl-like Deployment whose pod opts out of the mesh by its own label. */
const OPT_OUT_MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: curl-optout
  namespace: ${NS}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: curl-optout
  template:
    metadata:
      labels:
        app: curl-optout
        istio.io/dataplane-mode: none
    spec:
      containers:
      - name: curl
        image: curlimages/curl
        command: ["/bin/sleep", "infinity"]
`;

describe('e2e: labelling a namespace enrolls and releases its running pods', function () {
  this.timeout(60_000);
  const mesh = new TestMesh('wl-enroll');
  const dir = mkdtempSync(join(tmpdir(), 'a9m-wl-enroll-'));
  /** name -> container PIDs, as first started. */
  let firstPods: Map<string, number[]>;

  /**
   * curl -> httpbin by its Service, as Istio's docs call it: in the mesh the
   * agent picks the endpoint; outside it, the nodes' service proxy (the
   * local mesh's kube-proxy) does.
   */
  const httpbinAddr = 'httpbin:8000';
  const httpbinHeaders = async (): Promise<void> => {
    const body = JSON.parse(await mesh.curl([`http://${httpbinAddr}/headers`], NS)) as { headers: Record<string, string[]> };
    assert.deepEqual(body.headers['Host'], [httpbinAddr]);
  };
  const podsNow = async () => new Map((await mesh.pods(NS)).map((p) => [p.name, p] as const));

  before(async function () {
    this.timeout(120_000);
    await mesh.up(2);
  });

  after(async function () {
    this.timeout(120_000);
    rmSync(dir, { recursive: true, force: true });
    await mesh.down();
  });

  it('runs httpbin and curl unenrolled in a namespace without the label: plaintext, no metric for their identities', async () => {
    const file = join(dir, 'enroll-test.yaml');
    const namespace = stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    writeFileSync(file, [namespace, inNamespace(SAMPLES.httpbin, NS), inNamespace(SAMPLES.curl, NS)].join('---\n'));
    const apply = await mesh.ok(['mesh', 'apply', '-f', file]);
    assert.match(apply.stdout, new RegExp(`^namespace ${NS} created from ${file}$`, 'm'));
    assert.doesNotMatch(apply.stdout, /\(enrolled\)/);
    await mesh.ok(['mesh', 'wait', '-n', NS, '--all', '--timeout', '30s']);
    const pods = [...(await podsNow()).values()];
    assert.deepEqual(pods.map((p) => p.owner).sort(), ['Deployment/curl', 'Deployment/httpbin']);
    for (const p of pods) assert.equal(p.enrolled, false, p.name);
    firstPods = new Map(pods.map((p) => [p.name, p.containers.map((c) => c.pid)]));

    for (let i = 0; i < 3; i++) await httpbinHeaders();
    assert.equal(await mesh.metric(OPENED, { destination_principal: HTTPBIN_ID }), 0, 'no agent saw a connection to httpbin');
    assert.equal(await mesh.metric(OPENED, { source_principal: CURL_ID }), 0, 'no agent saw a connection from curl');
  });

  it('enrolls the same running pods (same names and PIDs) on istio.io/dataplane-mode=ambient: mutual TLS between their identities', async () => {
    const label = await mesh.ok(['mesh', 'label', 'namespace', NS, 'istio.io/dataplane-mode=ambient']);
    assert.match(label.stdout, new RegExp(`^namespace/${NS} labeled$`, 'm'));
    for (const name of firstPods.keys()) assert.match(label.stdout, new RegExp(`^pod ${NS}/${name} enrolled$`, 'm'));
    await mesh.ok(['mesh', 'wait', '-n', NS, '--all', '--timeout', '30s']);
    const pods = await podsNow();
    assert.deepEqual([...pods.keys()].sort(), [...firstPods.keys()].sort(), 'no pod was replaced');
    for (const [name, pids] of firstPods) {
      assert.equal(pods.get(name)!.enrolled, true, name);
      assert.deepEqual(pods.get(name)!.containers.map((c) => c.pid), pids, `${name} was not restarted`);
    }
    await eventually(async () => {
      await httpbinHeaders();
      return (await mesh.metric(OPENED, MTLS_TO_HTTPBIN)) > 0;
    }, 'curl -> httpbin is counted as mutual TLS between sa/curl and sa/httpbin');
    const source = await mesh.metric(OPENED, { ...MTLS_TO_HTTPBIN, reporter: 'source' });
    assert.ok(source > 0, 'the source agent counts it too');
  });

  it('keeps a pod labelled istio.io/dataplane-mode: none out of the mesh in the ambient namespace', async () => {
    const file = join(dir, 'optout.yaml');
    writeFileSync(file, OPT_OUT_MANIFEST);
    const apply = await mesh.ok(['mesh', 'apply', '-f', file]);
    assert.match(apply.stdout, new RegExp(`^pod ${NS}/curl-optout-\\S+ created on node\\d$`, 'm'), 'created, not "(enrolled)"');
    await mesh.ok(['mesh', 'wait', '-n', NS, 'deploy/curl-optout', '--timeout', '30s']);
    const pods = [...(await podsNow()).values()];
    const optout = pods.filter((p) => p.owner === 'Deployment/curl-optout');
    assert.equal(optout.length, 1);
    assert.equal(optout[0]!.enrolled, false);
    assert.equal(optout[0]!.labels['istio.io/dataplane-mode'], 'none');
    for (const p of pods.filter((x) => x.owner !== 'Deployment/curl-optout')) assert.equal(p.enrolled, true, p.name);
    const r = await mesh.exec('deploy/curl-optout', ['curl', '-s', '-S', '-m', '5', `http://${httpbinAddr}/status/200`, '-o', '/dev/null', '-w', '%{http_code}'], NS);
    assert.equal(r.stdout, '200', r.stderr);
    assert.equal(await mesh.metric(OPENED, { source_principal: `spiffe://cluster.local/ns/${NS}/sa/default`, connection_security_policy: 'mutual_tls' }), 0);
    await mesh.ok(['mesh', 'delete', '-f', file]);
  });

  it('releases the pods (not restarted) when the label is removed: traffic flows, the mTLS counter stands still', async () => {
    const label = await mesh.ok(['mesh', 'label', 'namespace', NS, 'istio.io/dataplane-mode-']);
    for (const name of firstPods.keys()) assert.match(label.stdout, new RegExp(`^pod ${NS}/${name} released from the mesh$`, 'm'));
    await mesh.ok(['mesh', 'wait', '-n', NS, '--all', '--timeout', '30s']);
    const pods = await podsNow();
    for (const [name, pids] of firstPods) {
      assert.equal(pods.get(name)!.enrolled, false, name);
      assert.deepEqual(pods.get(name)!.containers.map((c) => c.pid), pids, `${name} was not restarted`);
    }
    const mtls = await mesh.metric(OPENED, MTLS_TO_HTTPBIN);
    const fromCurl = await mesh.metric(OPENED, { source_principal: CURL_ID });
    for (let i = 0; i < 3; i++) await httpbinHeaders();
    assert.equal(await mesh.metric(OPENED, MTLS_TO_HTTPBIN), mtls, 'no new mTLS connection to httpbin');
    assert.equal(await mesh.metric(OPENED, { source_principal: CURL_ID }), fromCurl, 'no agent saw the new connections from curl');
  });
});
