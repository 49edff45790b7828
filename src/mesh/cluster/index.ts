/** The one-machine netns cluster: public surface. */
export { createCluster, openCluster, NetnsCluster, netnsPath, POD_NAMESPACE } from './cluster.js';
export type { ClusterOptions, ClusterNode, ClusterPod } from './cluster.js';
export { AddressPlan, DEFAULT_NODE_SUBNET, DEFAULT_POD_SUPERNET } from './address-plan.js';
export type { AddressPlanOptions } from './address-plan.js';
export { ClusterError } from './errors.js';
export { stopProcess } from './processes.js';
export type { ClusterProcess, ExitStatus, SpawnOptions } from './processes.js';
export type { CommandResult } from './command.js';
export { readState, DEFAULT_STATE_DIR } from './state.js';
export type { ClusterState } from './state.js';
export { destroyClusterFromState, findLeftovers, hasLeftovers, listNetns, DEFAULT_CGROUP_ROOT } from './teardown.js';
export type { Leftovers } from './teardown.js';
export { DEFAULT_CLAIM_DIR } from './claim.js';
