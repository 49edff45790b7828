/**
 * What the long-running roles (`ambit istiod`, `ambit ztunnel`) share on the
 * command line: the --log-level option and waiting for SIGINT/SIGTERM.
 */
import { Option } from 'commander';
import { LOG_LEVELS, type Logger } from '../shared/logging.js';

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level').default('info').choices([...LOG_LEVELS]);
}

/** Resolves on the first SIGINT or SIGTERM (logged), then stops listening for both. */
export function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
