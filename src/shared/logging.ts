import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The process logger: structured JSON, one event a line, on stderr so that
 * commands can print their results on stdout. Components take a child:
 * `rootLogger.child({ component: 'xds' })`.
 */
export function createLogger(level: LevelWithSilent = 'info', name = 'ambit'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything: for tests and library callers that bring no logger. */
export const silentLogger: Logger = pino({ level: 'silent' });

export function parseLogLevel(value: string): LevelWithSilent {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`log level "${value}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return level as LevelWithSilent;
}
