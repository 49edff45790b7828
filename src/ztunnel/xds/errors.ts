import { AmbitError } from '../../shared/errors.js';

/**
 * Node agent xDS client failures. Codes:
 * - XDS_CLIENT_INVALID_OPTION: a client option is out of range or missing
 * - XDS_CLIENT_CLOSED: the client was closed while a caller waited on it
 * - XDS_CLIENT_SYNC_TIMEOUT: the first response of every type did not arrive in time
 */
export class XdsClientError extends AmbitError {}

/**
 * One xDS resource the agent cannot use (the NACK names it with this message). Codes:
 * - XDS_RESOURCE_INVALID: malformed, an unknown enum value, or a policy that does not compile
 */
export class XdsResourceError extends AmbitError {}
