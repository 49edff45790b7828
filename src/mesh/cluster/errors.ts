import { AmbitError } from '../../shared/errors.js';

/**
 * Failures of the one-machine netns cluster. Codes:
 * - CLUSTER_COMMAND_FAILED: an `ip`/`sysctl`/launcher command exited non-zero
 * - CLUSTER_INVALID_NAME: a node or pod name is not a DNS label or is taken
 * - CLUSTER_ADDRESS_CLASH: the address plan overlaps a host route
 * - CLUSTER_NOT_FOUND: an unknown node or pod
 * - CLUSTER_STATE_INVALID: a state file could not be read or decoded
 * - CLUSTER_TEARDOWN_INCOMPLETE: teardown left something behind
 * - CLUSTER_DESTROYED: the cluster was used after destroy()
 * - CLUSTER_PREFIX_IN_USE: another cluster (or something unrecorded) already uses the name prefix
 * - CLUSTER_NOT_ROOT: the process lacks the privileges network namespaces need
 */
export class ClusterError extends AmbitError {}
