import type { Command } from 'commander';
import { ambitVersion } from '../../shared/version.js';

export function registerVersionInfo(program: Command): void {
  program.version(ambitVersion(), '-V, --version', 'print the ambit version');
}
