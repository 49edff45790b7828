import { AmbitError } from '../../shared/errors.js';

/**
 * Failures of the node agent's local HTTP surfaces. Codes:
 * - ADMIN_LISTEN_FAILED: a server could not bind its address (port taken, bad host)
 * - ADMIN_INVALID_LOG_LEVEL: a requested log level is not one the agent knows
 * - ADMIN_DUPLICATE_SECTION: two providers claim the same `/config_dump` section
 * - ADMIN_SECTION_FAILED: a `/config_dump` section provider threw
 */
export class AdminError extends AmbitError {}
