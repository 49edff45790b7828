import { readFileSync } from 'node:fs';

/** The version in package.json (this file is at src/shared/ or dist/shared/), read at each call; call it once at start-up. */
export function ambitVersion(): string {
  const pkgUrl = new URL('../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
