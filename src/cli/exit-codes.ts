/** Exit codes every ambit command uses, so scripts can rely on them. */
export const EXIT_OK = 0;
/** The command ran and found a failure (invalid config, unreachable target...). */
export const EXIT_FAILURE = 1;
/** The command line itself was wrong. */
export const EXIT_USAGE = 2;
