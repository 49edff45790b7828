/**
 * Errors raised while reading and decoding configuration documents. Field
 * level problems of a single object are not thrown: they are returned as
 * `FieldError`s by validation/. These cover whole files and documents.
 */
import { AmbitError } from '../../shared/errors.js';

export type ConfigErrorCode =
  /** A file or directory could not be read. */
  | 'CONFIG_READ_FAILED'
  /** A path given to the loader is neither a config file nor a directory. */
  | 'CONFIG_UNSUPPORTED_FILE'
  /** A document is not well-formed YAML/JSON. */
  | 'CONFIG_PARSE_FAILED'
  /** An object failed validation. */
  | 'CONFIG_INVALID_FIELD';

export class ConfigError extends AmbitError {
  declare readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
