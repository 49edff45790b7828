/** The local netns mesh role: what the CLI may use of it. */
export { meshDown, meshRunning, meshUp } from './local-mesh.js';
export { meshStatus } from './status.js';
export { podExecArgv } from './exec.js';
export { DEFAULT_MESH_STATE_DIR, readMeshState, type MeshState } from './state.js';
