/** The local netns mesh role: what the CLI may use of it. */
export { meshDown, meshRunning, meshUp } from './local-mesh.js';
export { meshStatus } from './status.js';
export { podExecArgv } from './exec.js';
export { DEFAULT_MESH_STATE_DIR, readMeshState, type MeshState } from './state.js';
export { MeshError } from './state.js';
export { applyDocuments, deleteObjects, describeIdentity, parseIdentityArg, type ObjectIdentity } from './applied.js';
export { readApplyInput } from './apply-input.js';
