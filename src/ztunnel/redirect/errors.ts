import { AmbitError } from '../../shared/errors.js';

export type RedirectErrorCode =
  | 'REDIRECT_NATIVE_UNAVAILABLE'
  | 'REDIRECT_BAD_INSTANCE'
  | 'REDIRECT_BAD_POD'
  | 'REDIRECT_LOAD_FAILED'
  | 'REDIRECT_ATTACH_FAILED'
  | 'REDIRECT_MAP_FAILED'
  | 'REDIRECT_BAD_ADDRESS'
  | 'REDIRECT_CONNECT_FAILED'
  | 'REDIRECT_CONNECT_TIMEOUT'
  | 'REDIRECT_CLOSED';

/** A failure of the capture layer; `cause` holds the addon's Error when there is one. */
export class RedirectError extends AmbitError {
  declare readonly code: RedirectErrorCode;

  constructor(code: RedirectErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What the native addon throws: a plain Error with errno fields. */
export interface NativeError extends Error {
  /** Positive errno value. */
  readonly errno: number;
  /** Symbolic errno, e.g. `ENOENT`. */
  readonly code: string;
  /** The failing call, e.g. `bpf_link_create`. */
  readonly syscall: string;
}

export function isNativeError(err: unknown): err is NativeError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeError>).errno === 'number' &&
    typeof (err as Partial<NativeError>).code === 'string' &&
    typeof (err as Partial<NativeError>).syscall === 'string'
  );
}
