/**
 * Who owns a name prefix on this machine. Every namespace, link and cgroup
 * of a cluster is named `<prefix>-…`, and teardown removes by those names,
 * so a second cluster built under a prefix in use would, on its first
 * failure, tear down the first one's underlay and pods. A cluster therefore
 * claims its prefix before creating anything: one file per prefix, created
 * with O_EXCL (atomic), naming the state file of the owner. The claim goes
 * with the cluster's teardown.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClusterError } from './errors.js';
import type { Leftovers } from './teardown.js';

/** Where prefix claims live unless the caller says otherwise. */
export const DEFAULT_CLAIM_DIR = '/run/ambit/prefixes';

interface PrefixClaim {
  readonly prefix: string;
  /** The state file of the cluster that owns the prefix. */
  readonly stateFile: string;
  readonly ownerPid: number;
  readonly createdAt: string;
}

export function claimFile(claimDir: string, prefix: string): string {
  return join(claimDir, `${prefix}.json`);
}

function readClaim(file: string): PrefixClaim | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as PrefixClaim;
    return typeof c.stateFile === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

function any(l: Leftovers): boolean {
  return l.netns.length + l.links.length + l.cgroups.length > 0;
}

function describeLeftovers(l: Leftovers): string {
  return [...l.netns.map((n) => `netns ${n}`), ...l.links.map((n) => `link ${n}`), ...l.cgroups.map((n) => `cgroup ${n}`)].slice(0, 5).join(', ');
}

function inUse(prefix: string, stateFile: string): ClusterError {
  return new ClusterError(
    'CLUSTER_PREFIX_IN_USE',
    `prefix "${prefix}" is in use by the cluster recorded in ${stateFile} (state dir ${dirname(stateFile)}); ` +
      `remove it first (for a mesh: ambit mesh down --state-dir ${dirname(stateFile)}) or choose another prefix`,
  );
}

/**
 * Claims `prefix` for the cluster whose state goes to `stateFile`, or throws
 * CLUSTER_PREFIX_IN_USE naming the owner. A claim whose state file is gone
 * and whose prefix names nothing any more (an owner that crashed after its
 * teardown) is taken over; anything already named with the prefix, claimed
 * or not, is refused: it is not ours to remove.
 */
export function claimPrefix(prefix: string, stateFile: string, claimDir: string, leftovers: () => Leftovers): string {
  mkdirSync(claimDir, { recursive: true });
  const file = claimFile(claimDir, prefix);
  const claim: PrefixClaim = { prefix, stateFile, ownerPid: process.pid, createdAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(claim, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ClusterError('CLUSTER_STATE_INVALID', `${file}: cannot claim prefix "${prefix}": ${(err as Error).message}`, { cause: err });
      }
      const owner = readClaim(file);
      if (owner !== undefined && existsSync(owner.stateFile)) throw inUse(prefix, owner.stateFile);
      const left = leftovers();
      if (any(left)) {
        throw new ClusterError(
          'CLUSTER_PREFIX_IN_USE',
          `prefix "${prefix}" still names ${describeLeftovers(left)} (claimed in ${file}${owner === undefined ? '' : ` by ${owner.stateFile}, now gone`}); remove them or choose another prefix`,
        );
      }
      rmSync(file, { force: true });
      continue;
    }
    const left = leftovers();
    if (any(left)) {
      rmSync(file, { force: true });
      throw new ClusterError(
        'CLUSTER_PREFIX_IN_USE',
        `prefix "${prefix}" already names ${describeLeftovers(left)}, which no cluster state records; remove them or choose another prefix`,
      );
    }
    return file;
  }
  throw inUse(prefix, readClaim(file)?.stateFile ?? file);
}

/** Drops the claim if it is still the one `stateFile` made. */
export function releasePrefix(file: string, stateFile: string): void {
  const owner = readClaim(file);
  if (owner !== undefined && owner.stateFile === stateFile) rmSync(file, { force: true });
}
