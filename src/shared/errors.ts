/**
 * The base of every error ambit raises on purpose. `code` is stable and
 * machine-matchable (tests match on it, never on the message); the message
 * says what failed and where.
 */
export class AmbitError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Renders any thrown value as a message, for logs and CLI output. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
