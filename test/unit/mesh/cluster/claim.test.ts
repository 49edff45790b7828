import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimFile, claimPrefix, releasePrefix } from '../../../../src/mesh/cluster/claim.js';
import { ClusterError } from '../../../../src/mesh/cluster/errors.js';
import type { Leftovers } from '../../../../src/mesh/cluster/teardown.js';

const none: Leftovers = { netns: [], links: [], cgroups: [] };

describe('cluster prefix claims', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'a9m-claim-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const inUse = (text: RegExp) => (e: unknown) => e instanceof ClusterError && e.code === 'CLUSTER_PREFIX_IN_USE' && text.test(e.message);

  it('refuses a prefix another live cluster holds, naming its state file and state dir', () => {
    const first = join(dir, 'mesh-a', 'a9m-x.json');
    claimPrefix('a9m-x', first, join(dir, 'claims'), () => none);
    // The owner's state file exists while it runs.
    mkdirSync(join(dir, 'mesh-a'));
    writeFileSync(first, '{}');
    assert.throws(() => claimPrefix('a9m-x', join(dir, 'mesh-b', 'a9m-x.json'), join(dir, 'claims'), () => none), inUse(/state dir .*mesh-a\b/));
  });

  it('takes over a claim whose owner and everything it named are gone', () => {
    const claims = join(dir, 'claims');
    claimPrefix('a9m-y', join(dir, 'gone', 'a9m-y.json'), claims, () => none);
    const mine = join(dir, 'mine', 'a9m-y.json');
    assert.equal(claimPrefix('a9m-y', mine, claims, () => none), claimFile(claims, 'a9m-y'));
  });

  it('refuses a prefix that still names namespaces, claimed or not', () => {
    const left: Leftovers = { netns: ['a9m-z-underlay'], links: [], cgroups: [] };
    assert.throws(() => claimPrefix('a9m-z', join(dir, 'a.json'), join(dir, 'claims'), () => left), inUse(/netns a9m-z-underlay, which no cluster state records/));
    assert.equal(existsSync(claimFile(join(dir, 'claims'), 'a9m-z')), false);
  });

  it('releases only its own claim', () => {
    const claims = join(dir, 'claims');
    const f = claimPrefix('a9m-w', join(dir, 'a.json'), claims, () => none);
    releasePrefix(f, join(dir, 'b.json'));
    assert.equal(existsSync(f), true);
    releasePrefix(f, join(dir, 'a.json'));
    assert.equal(existsSync(f), false);
  });
});
