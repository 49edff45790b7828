import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  inClusterParams,
  KubeConnection,
  loadKubeConfig,
  parseKubeconfig,
} from '../../../../../../src/istiod/config/sources/kubernetes/kubeconfig.js';
import { KubeSourceError } from '../../../../../../src/istiod/config/sources/kubernetes/errors.js';

function kubeconfig(cluster: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: main',
    'contexts:',
    '  - {name: other, context: {cluster: nope, user: nope}}',
    '  - {name: main, context: {cluster: c1, user: u1}}',
    'clusters:',
    `  - {name: c1, cluster: ${cluster}}`,
    'users:',
    `  - {name: u1, user: ${user}}`,
    '',
  ].join('\n');
}

function isConfigError(err: unknown): boolean {
  return err instanceof KubeSourceError && err.code === 'KUBE_CONFIG_INVALID';
}

describe('kubernetes source kubeconfig', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ambit-kubeconfig-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the current context: server, inline CA and client certificate, bearer token, TLS server name', () => {
    const p = parseKubeconfig(
      kubeconfig(
        `{server: "https://10.0.0.1:6443", certificate-authority-data: ${Buffer.from('CA').toString('base64')}, tls-server-name: kubernetes}`,
        `{token: abc, client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key-data: ${Buffer.from('KEY').toString('base64')}}`,
      ),
      join(dir, 'config'),
    );
    assert.equal(p.server, 'https://10.0.0.1:6443');
    assert.equal(p.ca?.toString(), 'CA');
    assert.equal(p.cert?.toString(), 'CERT');
    assert.equal(p.key?.toString(), 'KEY');
    assert.equal(p.tlsServerName, 'kubernetes');
    assert.equal(p.token, 'abc');
    assert.equal(new KubeConnection(p).authorization(), 'Bearer abc');
  });

  it('resolves file paths relative to the kubeconfig and reads the token file', async () => {
    await writeFile(join(dir, 'ca.pem'), 'FILE-CA');
    await writeFile(join(dir, 'token'), 'file-token\n');
    const p = parseKubeconfig(kubeconfig('{server: "https://h:443", certificate-authority: ca.pem}', '{tokenFile: token}'), join(dir, 'config'));
    assert.equal(p.ca?.toString(), 'FILE-CA');
    assert.equal(p.tokenFile, join(dir, 'token'));
    assert.equal(new KubeConnection(p).authorization(), 'Bearer file-token');
  });

  it('uses basic auth when the user has a username, and nothing when it has no credential', () => {
    const basic = parseKubeconfig(kubeconfig('{server: "http://h:8080"}', '{username: admin, password: pw}'), join(dir, 'c'));
    assert.equal(new KubeConnection(basic).authorization(), `Basic ${Buffer.from('admin:pw').toString('base64')}`);
    const none = parseKubeconfig(kubeconfig('{server: "http://h:8080"}', '{}'), join(dir, 'c'));
    assert.equal(new KubeConnection(none).authorization(), undefined);
  });

  it('hands out the KubeConfig-shaped cluster and request options (agent and Authorization header)', async () => {
    const conn = new KubeConnection(parseKubeconfig(kubeconfig('{server: "https://h:6443/prefix/"}', '{token: t}'), join(dir, 'c')));
    assert.deepEqual(conn.getCurrentCluster(), { server: 'https://h:6443/prefix' });
    const opts: RequestOptions = { headers: { accept: 'application/json' } };
    await conn.applyToHTTPSOptions(opts);
    assert.deepEqual(opts.headers, { accept: 'application/json', authorization: 'Bearer t' });
    assert.equal(opts.agent, conn.httpAgent);
  });

  const refused = [
    { name: 'an exec credential plugin', text: kubeconfig('{server: "https://h"}', '{exec: {command: aws}}'), hint: /exec credentials are not supported/ },
    { name: 'an auth-provider', text: kubeconfig('{server: "https://h"}', '{auth-provider: {name: gcp}}'), hint: /auth-provider/ },
    { name: 'a cluster without a server', text: kubeconfig('{}', '{}'), hint: /has no server/ },
    { name: 'no current context', text: 'apiVersion: v1\nkind: Config\n', hint: /no current-context/ },
    { name: 'a context naming a missing cluster', text: kubeconfig('{server: "https://h"}', '{}').replace('cluster: c1, user', 'cluster: c9, user'), hint: /no cluster named "c9"/ },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} with KUBE_CONFIG_INVALID`, () => {
      assert.throws(() => parseKubeconfig(c.text, 'kc'), (err: unknown) => isConfigError(err) && c.hint.test((err as Error).message));
    });
  }

  it('builds the in-cluster connection from the service environment and the mounted CA and token', async () => {
    await writeFile(join(dir, 'ca.crt'), 'IN-CLUSTER-CA');
    const p = inClusterParams({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    assert.equal(p.server, 'https://[fd00::1]:443');
    assert.equal(p.ca?.toString(), 'IN-CLUSTER-CA');
    assert.equal(p.tokenFile, join(dir, 'token'));
    assert.throws(() => inClusterParams({}, dir), isConfigError);
  });

  it('fails with KUBE_CONFIG_INVALID for a kubeconfig file that does not exist', () => {
    assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') }), (err: unknown) => isConfigError(err) && /missing/.test((err as Error).message));
  });
});
