/**
 * Run-time control of the agent's log level, as `POST /logging` uses it.
 * Component loggers are pino children created without a level of their
 * own; they read the level through their prototype chain, so setting the
 * root's level changes theirs too.
 */
import type { LevelWithSilent } from 'pino';
import type { Logger } from '../../shared/logging.js';
import { AdminError } from './errors.js';

/** Levels the endpoint accepts: ztunnel's names (`off` = silent) and pino's own. */
export const ACCEPTED_LOG_LEVELS: readonly string[] = [
  'off',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'fatal',
  'silent',
];

/** ztunnel's name for a level (pino's `silent` is ztunnel's `off`). */
function displayLevel(level: string): string {
  return level === 'silent' ? 'off' : level;
}

export class LogLevelControl {
  private readonly startLevel: LevelWithSilent;

  constructor(private readonly root: Logger) {
    this.startLevel = root.level as LevelWithSilent;
  }

  /** The current level in ztunnel's words (`off` for silent). */
  current(): string {
    return displayLevel(this.root.level);
  }

  /** The level the agent started with. */
  initial(): string {
    return displayLevel(this.startLevel);
  }

  /** Sets the root (and so every component) level; throws ADMIN_INVALID_LOG_LEVEL for unknown names. */
  set(level: string): void {
    const wanted = level.trim().toLowerCase();
    if (!ACCEPTED_LOG_LEVELS.includes(wanted)) {
      throw new AdminError(
        'ADMIN_INVALID_LOG_LEVEL',
        `log level "${level}" is not one of ${ACCEPTED_LOG_LEVELS.join(', ')}`,
      );
    }
    this.root.level = wanted === 'off' ? 'silent' : wanted;
  }

  /** Back to the level the agent started with. */
  reset(): void {
    this.root.level = this.startLevel;
  }
}
