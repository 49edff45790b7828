import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorySource, type ConfigProblem } from '../../../../src/istiod/config/sources/directory.js';
import { ConfigStore } from '../../../../src/istiod/config/store.js';
import type { ConfigEvent } from '../../../../src/istiod/config/types.js';

const sa = (name: string, ns = 'demo'): string =>
  `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;

const policy = (name: string, port: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: demo
spec:
  action: ALLOW
  rules:
    - to:
        - operation:
            ports: ["${port}"]
`;

/** Waits (bounded) until `check` holds, polling every 10 ms. */
async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('istiod/config/sources/directory', () => {
  let dir: string;
  let store: ConfigStore;
  let source: DirectorySource;
  let events: ConfigEvent[];
  let problems: readonly ConfigProblem[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ambit-configdir-'));
    store = new ConfigStore();
    events = [];
    problems = [];
    store.subscribe((e) => events.push(...e));
  });

  afterEach(async () => {
    await source?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<void> => {
    source = new DirectorySource(store, { dir, debounceMs: 20, onLoad: (p) => (problems = p) });
    await source.start();
  };

  it('sees every replacement of a file by rename (atomic writers), at the top and in a subdirectory', async () => {
    await mkdir(join(dir, 'team'));
    await writeFile(join(dir, 'p.yaml'), policy('top', '1000'));
    await writeFile(join(dir, 'team', 'p.yaml'), policy('sub', '2000'));
    await start();
    const portOf = (name: string): string | undefined =>
      (store.list('AuthorizationPolicy').find((o) => o.metadata.name === name)?.spec.rules?.[0]?.to?.[0]?.operation.ports ?? [])[0];
    for (let i = 1; i <= 8; i++) {
      for (const [file, name] of [['p.yaml', 'top'], [join('team', 'p.yaml'), 'sub']] as const) {
        const port = String((name === 'top' ? 1000 : 2000) + i);
        await writeFile(join(dir, `.${name}.tmp`), policy(name, port));
        await rename(join(dir, `.${name}.tmp`), join(dir, file));
        await eventually(() => portOf(name) === port);
      }
    }
  });

  it('loads every yaml, yml and json file, multi-document files included, and ignores other files', async () => {
    await writeFile(join(dir, 'a.yaml'), `${sa('one')}---\n${sa('two')}`);
    await writeFile(join(dir, 'b.yml'), sa('three'));
    await writeFile(
      join(dir, 'c.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'four', namespace: 'demo' } }),
    );
    await writeFile(join(dir, 'notes.txt'), 'not config');
    await start();
    assert.deepEqual(
      store.list('ServiceAccount').map((o) => o.metadata.name).sort(),
      ['four', 'one', 'three', 'two'],
    );
    const one = store.find('ServiceAccount', 'demo', 'two');
    assert.equal(one?.origin.file, 'a.yaml');
    assert.equal(one?.origin.index, 1);
    assert.deepEqual(problems, []);
  });

  it('reports an invalid object with file, index, kind, name and field path, and loads the rest', async () => {
    await writeFile(join(dir, 'p.yaml'), `${policy('good', '8080')}---\n${policy('bad', 'http')}`);
    await start();
    assert.ok(store.find('AuthorizationPolicy', 'demo', 'good'));
    assert.equal(store.find('AuthorizationPolicy', 'demo', 'bad'), undefined);
    assert.equal(problems.length, 1);
    const p = problems[0]!;
    assert.equal(p.file, 'p.yaml');
    assert.equal(p.index, 1);
    assert.equal(p.kind, 'AuthorizationPolicy');
    assert.equal(p.name, 'bad');
    assert.equal(p.errors[0]?.path, 'spec.rules[0].to[0].operation.ports[0]');
  });

  it('keeps the last good version of an object when an edit makes it invalid', async () => {
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '8080'));
    await start();
    events.length = 0;
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '99999'));
    await eventually(() => problems.length === 1);
    const kept = store.find('AuthorizationPolicy', 'demo', 'allow-web');
    assert.deepEqual(kept?.spec.rules?.[0]?.to?.[0]?.operation.ports, ['8080']);
    assert.deepEqual(events, []);
  });

  it('keeps what a file held when the file stops parsing, and applies the fix when it comes', async () => {
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '8080'));
    await start();
    await writeFile(join(dir, 'p.yaml'), 'apiVersion: [unclosed\n  kind: : :');
    await eventually(() => problems.length === 1);
    assert.equal(problems[0]?.errors[0]?.path, '(document)');
    assert.ok(store.find('AuthorizationPolicy', 'demo', 'allow-web'));
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '9090'));
    await eventually(() => problems.length === 0);
    assert.deepEqual(store.find('AuthorizationPolicy', 'demo', 'allow-web')?.spec.rules?.[0]?.to?.[0]?.operation.ports, ['9090']);
  });

  it('emits update for a changed object and delete when its file is removed', async () => {
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '8080'));
    await writeFile(join(dir, 's.yaml'), sa('keep'));
    await start();
    events.length = 0;
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '8081'));
    await eventually(() => events.length === 1);
    assert.equal(events[0]?.kind, 'update');
    await unlink(join(dir, 'p.yaml'));
    await eventually(() => events.length === 2);
    assert.equal(events[1]?.kind, 'delete');
    assert.equal(store.find('AuthorizationPolicy', 'demo', 'allow-web'), undefined);
    assert.ok(store.find('ServiceAccount', 'demo', 'keep'));
  });

  it('sees every atomic replace (temp file renamed over) of the same file, in the root and in a subdirectory made later', async () => {
    await writeFile(join(dir, 'p.yaml'), policy('allow-web', '8000'));
    await start();
    await mkdir(join(dir, 'sub'));
    for (const [i, file] of ['p.yaml', 'p.yaml', 'p.yaml', 'sub/q.yaml', 'sub/q.yaml', 'sub/q.yaml'].entries()) {
      const name = file === 'p.yaml' ? 'allow-web' : 'allow-sub';
      const port = String(8001 + i);
      // Synchronously, as `mesh apply` writes: no event loop turn sees the temp file.
      writeFileSync(join(dir, '.tmp'), policy(name, port));
      renameSync(join(dir, '.tmp'), join(dir, file));
      await eventually(() => store.find('AuthorizationPolicy', 'demo', name)?.spec.rules?.[0]?.to?.[0]?.operation?.ports?.[0] === port);
    }
  });

  it('fails to start on a directory that does not exist', async () => {
    source = new DirectorySource(store, { dir: join(dir, 'missing') });
    await assert.rejects(source.start(), /cannot be read: ENOENT/);
  });
});
