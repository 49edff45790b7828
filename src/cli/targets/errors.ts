import { AmbitError } from '../../shared/errors.js';

export type TargetErrorCode =
  /** `--admin`, `--istiod` or a state file entry is not HOST:PORT. */
  | 'TARGET_BAD_ADDRESS'
  /** Nothing answers on the address (refused, unreachable, unknown host, timeout). */
  | 'TARGET_UNREACHABLE'
  /** The target answered with a status other than 200. */
  | 'TARGET_HTTP_STATUS'
  /** The target answered 200 with something that is not the expected JSON. */
  | 'TARGET_BAD_RESPONSE'
  /** The mesh state file is absent or unreadable. */
  | 'MESH_STATE_MISSING'
  /** The mesh state file is not the expected JSON shape. */
  | 'MESH_STATE_INVALID'
  /** `--node` names a node the mesh state does not list. */
  | 'MESH_UNKNOWN_NODE'
  /** `ambit bpf`: nothing is pinned for the instance. */
  | 'BPF_NOT_PINNED';

/** Why a debug command could not reach or read its target; the CLI turns it into exit status 1. */
export class TargetError extends AmbitError {
  declare readonly code: TargetErrorCode;

  constructor(code: TargetErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
