import { AmbitError } from '../../shared/errors.js';

/**
 * Failures of the sample-image stand-ins. Codes:
 * - STANDIN_UNKNOWN_IMAGE: the image has no stand-in and is not a host-command image
 * - STANDIN_HOST_COMMAND: the image runs its command on the host (curl); there is nothing to start
 * - STANDIN_BAD_SPEC: the spec handed to the stand-in app is not valid JSON of a StandinSpec
 * - STANDIN_BAD_ARGS: the container's args are not what the real image accepts
 * - STANDIN_PORT_IN_USE: a port the stand-in must listen on is taken (EADDRINUSE)
 * - STANDIN_LISTEN_FAILED: any other failure to bind a listener
 */
export class StandinError extends AmbitError {}
