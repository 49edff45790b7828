import { AmbitError } from '../../shared/errors.js';

/**
 * Workload store failures. Codes:
 * - STATE_UNKNOWN_TYPE: a delta names a type URL the store does not hold
 * - STATE_INVALID_RESOURCE: a resource does not fit its type (a policy in an Address delta...)
 */
export class StateError extends AmbitError {}
