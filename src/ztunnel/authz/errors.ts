import { AmbitError } from '../../shared/errors.js';

/**
 * L4 authorization failures. Codes:
 * - AUTHZ_INVALID_ADDRESS: a connection's source or destination IP is not an IPv4/IPv6 address
 * - AUTHZ_INVALID_PORT: a connection's destination port is not an integer in 0..65535
 * - AUTHZ_INVALID_POLICY: an Authorization resource has an unknown scope or action
 */
export class AuthzError extends AmbitError {}
