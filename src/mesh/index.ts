/** The local netns mesh role: what the CLI may use of it. */
export { meshDown, meshRunning, meshUp, MESH_DEMOS, BOOKINFO_NAMESPACE, type MeshDemo } from './local-mesh.js';
export { meshStatus } from './status.js';
export { podExecArgv } from './exec.js';
export { DEFAULT_MESH_STATE_DIR, readMeshState, type MeshState } from './state.js';
export { MeshError } from './state.js';
export { applyDocuments, deleteObjects, describeIdentity, parseIdentityArg, type ObjectIdentity } from './applied.js';
export { readApplyInput, validatedDocument } from './apply-input.js';
export { STDIN_SOURCE } from './applied.js';
export { labelNamespace, parseLabelChange, meshApply, meshDelete, reconcileWorkloads, NO_EFFECT_YET_KINDS, WorkloadError, type MeshApplyResult, type ReconcileResult } from './workloads/controller.js';
export { deploymentViews, gatewayViews, meshObjects, podView, selectPods, serviceViews, waitForPods, type DeploymentView, type GatewayView, type PodView, type ServiceView } from './workloads/queries.js';
export type { PodRecord } from './state.js';
