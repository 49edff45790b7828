import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** The version in package.json, read once at start-up. */
export function ambitVersion(): string {
  const pkgUrl = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export function registerVersionInfo(program: Command): void {
  program.version(ambitVersion(), '-V, --version', 'print the ambit version');
}
