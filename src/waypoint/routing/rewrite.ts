/** Path and header rewrites of a forwarded request, as pure functions. */
import type { HeaderOps, RewritePolicy } from '../../shared/l7/waypoint-config.js';
import { fullMatchRegex } from './string-match.js';

export type HeaderRecord = Record<string, string | string[]>;

/** The path after `rewrite`; `matchedPrefix` is the uri prefix of the matching HttpMatch, when it was one. */
export function rewritePath(path: string, rewrite: RewritePolicy | undefined, matchedPrefix: string | undefined): string {
  if (rewrite === undefined) return path;
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  const query = q < 0 ? '' : path.slice(q);
  if (rewrite.fullPath !== undefined) return rewrite.fullPath + query;
  if (rewrite.prefix !== undefined && matchedPrefix !== undefined && bare.toLowerCase().startsWith(matchedPrefix.toLowerCase())) {
    return rewrite.prefix + bare.slice(matchedPrefix.length) + query;
  }
  if (rewrite.regex !== undefined) {
    const re = fullMatchRegex(rewrite.regex.match);
    if (re === undefined || !re.test(bare)) return path;
    return bare.replace(re, rewrite.regex.substitute.replace(/\\(\d)/g, '$$$1')) + query;
  }
  return path;
}

/** A copy of `headers` with `ops` applied: remove, then set (overwrites), then add (appends). */
export function applyHeaderOps(headers: Readonly<HeaderRecord>, ops: HeaderOps): HeaderRecord {
  const out: HeaderRecord = { ...headers };
  for (const name of ops.remove) delete out[name.toLowerCase()];
  for (const [name, value] of Object.entries(ops.set)) out[name.toLowerCase()] = value;
  for (const [rawName, value] of Object.entries(ops.add)) {
    const name = rawName.toLowerCase();
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (Array.isArray(prior)) out[name] = [...prior, value];
    else out[name] = `${prior}, ${value}`;
  }
  return out;
}

/** Two op sets as one: the later's set and add win per name, removes concatenated. */
export function mergeHeaderOps(first: HeaderOps, second: HeaderOps | undefined): HeaderOps {
  if (second === undefined) return first;
  return { set: { ...first.set, ...second.set }, add: { ...first.add, ...second.add }, remove: [...first.remove, ...second.remove] };
}
