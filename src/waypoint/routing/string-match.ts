/**
 * Istio's StringMatch: exact, prefix, or RE2 regex as a full match. Regexes
 * compile once per pattern into a bounded cache; an invalid one matches nothing.
 */
import type { StringMatch } from '../../shared/l7/waypoint-config.js';

const REGEX_CACHE_LIMIT = 1024;
const compiledRegexes = new Map<string, RegExp | null>();

/** The full-match RegExp of an RE2 pattern, undefined when JS cannot compile it. */
export function fullMatchRegex(pattern: string, flags = ''): RegExp | undefined {
  const key = `${flags}/${pattern}`;
  const cached = compiledRegexes.get(key);
  if (cached !== undefined) return cached ?? undefined;
  let re: RegExp | null;
  try {
    re = new RegExp(`^(?:${pattern})$`, flags);
  } catch {
    re = null;
  }
  if (compiledRegexes.size >= REGEX_CACHE_LIMIT) {
    const oldest = compiledRegexes.keys().next().value;
    if (oldest !== undefined) compiledRegexes.delete(oldest);
  }
  compiledRegexes.set(key, re);
  return re ?? undefined;
}

/** Whether `value` satisfies `match`; `ignoreCase` applies to exact and prefix only, as Envoy's. */
export function stringMatches(match: StringMatch, value: string, ignoreCase = false): boolean {
  if ('exact' in match) return ignoreCase ? match.exact.toLowerCase() === value.toLowerCase() : match.exact === value;
  if ('prefix' in match) return ignoreCase ? value.toLowerCase().startsWith(match.prefix.toLowerCase()) : value.startsWith(match.prefix);
  if ('regex' in match) return fullMatchRegex(match.regex)?.test(value) ?? false;
  return false;
}
