import { AmbitError } from '../../shared/errors.js';

/** Errors raised by the ambient index. Codes: INDEX_UNKNOWN_TYPE_URL. */
export class IndexError extends AmbitError {}
