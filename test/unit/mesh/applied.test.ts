import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  applyDocuments,
  appliedFileName,
  deleteObjects,
  identityKey,
  parseIdentityArg,
  readApplied,
  STDIN_SOURCE,
} from '../../../src/mesh/applied.js';
import { readApplyInput } from '../../../src/mesh/apply-input.js';
import { MeshError } from '../../../src/mesh/state.js';

function policy(name: string, action: 'DENY' | 'ALLOW', namespace = 'demo'): string {
  return [
    'apiVersion: security.istio.io/v1',
    'kind: AuthorizationPolicy',
    `metadata: { name: ${name}, namespace: ${namespace} }`,
    'spec:',
    '  selector: { matchLabels: { app: backend } }',
    `  action: ${action}`,
    '  rules: [{ from: [{ source: { principals: ["cluster.local/ns/demo/sa/frontend"] } }] }]',
    '',
  ].join('\n');
}

const noStdin = (): Promise<string> => Promise.reject(new Error('stdin must not be read'));

describe('mesh apply/delete bookkeeping', () => {
  let dir: string;
  let stateDir: string;
  let configDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'a9m-applied-'));
    stateDir = join(dir, 'state');
    configDir = join(stateDir, 'config');
    mkdirSync(join(dir, 'team-a'), { recursive: true });
    mkdirSync(join(dir, 'team-b'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const dirs = (): { configDir: string; workloadsDir: string } => ({ configDir, workloadsDir: join(stateDir, 'objects') });

  async function apply(...files: string[]) {
    const input = await readApplyInput(files, noStdin);
    assert.deepEqual(input.problems, []);
    return applyDocuments(stateDir, dirs(), input.documents);
  }

  const configObjects = (): string[] =>
    readdirSync(configDir)
      .sort()
      .map((f) => {
        const o = parse(readFileSync(join(configDir, f), 'utf8')) as { metadata: { name: string }; spec: { action: string } };
        return `${o.metadata.name}:${o.spec.action}`;
      });

  it('keeps two policy.yaml from different folders apart, each object in a file of its own', async () => {
    const a = join(dir, 'team-a', 'policy.yaml');
    const b = join(dir, 'team-b', 'policy.yaml');
    writeFileSync(a, policy('deny-frontend', 'DENY'));
    writeFileSync(b, policy('allow-frontend', 'ALLOW'));
    await apply(a);
    await apply(b);
    assert.deepEqual(configObjects(), ['allow-frontend:ALLOW', 'deny-frontend:DENY']);
    assert.deepEqual(
      readApplied(stateDir).map((e) => [identityKey(e), e.source]),
      [
        ['authorizationpolicy/demo/allow-frontend', b],
        ['authorizationpolicy/demo/deny-frontend', a],
      ],
    );
  });

  it('deletes exactly the objects of the file named, and reports what was never applied as not found', async () => {
    const a = join(dir, 'team-a', 'policy.yaml');
    const b = join(dir, 'team-b', 'policy.yaml');
    writeFileSync(a, policy('deny-frontend', 'DENY'));
    writeFileSync(b, policy('allow-frontend', 'ALLOW'));
    await apply(a, b);
    const input = await readApplyInput([b], noStdin);
    const r = deleteObjects(stateDir, dirs(), input.documents);
    assert.deepEqual(r.deleted.map((e) => e.name), ['allow-frontend']);
    assert.deepEqual(configObjects(), ['deny-frontend:DENY']);
    const again = deleteObjects(stateDir, dirs(), input.documents);
    assert.deepEqual([again.deleted, again.notFound.map(identityKey)], [[], ['authorizationpolicy/demo/allow-frontend']]);
    const never = deleteObjects(stateDir, dirs(), [parseIdentityArg('AuthorizationPolicy/demo/nothing')]);
    assert.deepEqual(never.notFound.map(identityKey), ['authorizationpolicy/demo/nothing']);
    assert.deepEqual(configObjects(), ['deny-frontend:DENY']);
  });

  it('says created, unchanged and configured, and names the source an object moved from', async () => {
    const a = join(dir, 'team-a', 'policy.yaml');
    const b = join(dir, 'team-b', 'policy.yaml');
    writeFileSync(a, policy('p', 'DENY'));
    writeFileSync(b, policy('p', 'ALLOW'));
    assert.deepEqual((await apply(a)).map((o) => o.action), ['created']);
    assert.deepEqual((await apply(a)).map((o) => o.action), ['unchanged']);
    const moved = await apply(b);
    assert.deepEqual(moved.map((o) => [o.action, o.previousSource]), [['configured', a]]);
    assert.deepEqual(configObjects(), ['p:ALLOW']);
  });

  it('writes Deployments and Pods into the workloads directory and other kinds into the config directory, and deletes each from its own', async () => {
    const file = join(dir, 'team-a', 'app.yaml');
    const deployment = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: web, namespace: demo }',
      'spec:',
      '  selector: { matchLabels: { app: web } }',
      '  template:',
      '    metadata: { labels: { app: web } }',
      '    spec: { containers: [{ name: web, image: kong/httpbin }] }',
      '',
    ].join('\n');
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: curl, namespace: demo }\nspec: { containers: [{ name: curl, image: curlimages/curl, command: [sleep, "3600"] }] }\n';
    writeFileSync(file, [deployment, pod, policy('deny-frontend', 'DENY')].join('---\n'));
    const outcomes = await apply(file);
    assert.deepEqual(
      outcomes.map((o) => [o.entry.kind, o.entry.store]),
      [
        ['Deployment', 'workloads'],
        ['Pod', 'workloads'],
        ['AuthorizationPolicy', undefined],
      ],
    );
    const workloadsDir = dirs().workloadsDir;
    const deploymentFile = appliedFileName({ kind: 'Deployment', namespace: 'demo', name: 'web' });
    const podFile = appliedFileName({ kind: 'Pod', namespace: 'demo', name: 'curl' });
    assert.deepEqual(readdirSync(workloadsDir).sort(), [deploymentFile, podFile].sort());
    assert.deepEqual(readdirSync(configDir), [appliedFileName({ kind: 'AuthorizationPolicy', namespace: 'demo', name: 'deny-frontend' })]);
    const written = parse(readFileSync(join(workloadsDir, deploymentFile), 'utf8')) as { kind: string; metadata: { name: string } };
    assert.deepEqual([written.kind, written.metadata.name], ['Deployment', 'web']);
    assert.deepEqual(readApplied(stateDir).find((e) => e.kind === 'Deployment')?.store, 'workloads');

    const r = deleteObjects(stateDir, dirs(), [parseIdentityArg('deployment/demo/web'), parseIdentityArg('authorizationpolicy/demo/deny-frontend')]);
    assert.deepEqual(r.deleted.map((e) => e.name), ['web', 'deny-frontend']);
    assert.deepEqual(readdirSync(workloadsDir), [podFile]);
    assert.deepEqual(readdirSync(configDir), []);
  });

  it('reads - from standard input, recording (stdin) as the source', async () => {
    const input = await readApplyInput(['-'], () => Promise.resolve(policy('from-stdin', 'DENY')));
    assert.deepEqual(input.problems, []);
    const [o] = applyDocuments(stateDir, dirs(), input.documents);
    assert.deepEqual([o?.entry.name, o?.entry.source], ['from-stdin', STDIN_SOURCE]);
  });

  it('refuses a batch that defines one object twice, changing nothing', async () => {
    const a = join(dir, 'team-a', 'policy.yaml');
    const b = join(dir, 'team-b', 'policy.yaml');
    writeFileSync(a, policy('p', 'DENY'));
    writeFileSync(b, policy('p', 'ALLOW'));
    const input = await readApplyInput([a, b], noStdin);
    assert.throws(
      () => applyDocuments(stateDir, dirs(), input.documents),
      (e: unknown) => e instanceof MeshError && e.code === 'MESH_APPLY_CONFLICT' && e.message.includes('defined twice'),
    );
    assert.deepEqual(readApplied(stateDir), []);
  });

  it('reports invalid documents with their place and field, and an empty input', async () => {
    const bad = join(dir, 'team-a', 'bad.yaml');
    writeFileSync(bad, policy('p', 'DENY').replace('action: DENY', 'action: MAYBE'));
    const r = await readApplyInput([bad], noStdin);
    assert.equal(r.documents.length, 0);
    assert.match(r.problems[0] ?? '', /bad\.yaml\[0\] AuthorizationPolicy\/demo\/p: spec\.action/);
    const empty = await readApplyInput(['-'], () => Promise.resolve(''));
    assert.match(empty.problems[0] ?? '', /no configuration documents/);
  });

  it('names files after the identity, hashing names a file name should not carry', () => {
    assert.equal(appliedFileName({ kind: 'AuthorizationPolicy', namespace: 'demo', name: 'deny' }), '50-applied-authorizationpolicy.demo.deny.yaml');
    assert.equal(appliedFileName({ kind: 'Namespace', namespace: '', name: 'demo' }), '50-applied-namespace._.demo.yaml');
    const odd = appliedFileName({ kind: 'X', namespace: 'a', name: '../../etc/passwd' });
    assert.match(odd, /^50-applied-x\.a\.\.\._\.\._etc_passwd-[0-9a-f]{16}\.yaml$/);
    assert.ok(!odd.includes('/'));
  });

  it('parses kind/namespace/name and kind/name, and refuses anything else', () => {
    assert.deepEqual(parseIdentityArg('authorizationpolicy/demo/x'), { kind: 'authorizationpolicy', namespace: 'demo', name: 'x' });
    assert.deepEqual(parseIdentityArg('namespace/demo'), { kind: 'namespace', namespace: '', name: 'demo' });
    for (const bad of ['x', 'a//b', 'a/b/c/d']) assert.throws(() => parseIdentityArg(bad), (e: unknown) => e instanceof MeshError);
  });
});
