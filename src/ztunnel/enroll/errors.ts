import { AmbitError } from '../../shared/errors.js';

/**
 * Enrollment failures. Codes (also sent as `code` in Error replies):
 * - ENROLL_MALFORMED: a frame is not JSON or not an object
 * - ENROLL_FRAME_TOO_LARGE: a frame exceeds the agent's maxFrameBytes (the connection is closed)
 * - ENROLL_INVALID_MESSAGE: a message has a missing or wrong field, or a cgroup outside the pod cgroup root
 * - ENROLL_IDLE_TIMEOUT: the connection sent nothing for idleTimeoutMs (the connection is closed)
 * - ENROLL_TOO_MANY_CONNECTIONS: maxConnections are open (the new connection is refused)
 * - ENROLL_BAD_LIMIT: a configured limit is out of range
 * - ENROLL_UNSUPPORTED_VERSION: the peer speaks another protocol version
 * - ENROLL_CAPTURE_FAILED: creating listeners or attaching redirection failed
 * - ENROLL_NOT_ENROLLED: CheckPod for a pod the agent does not hold
 * - ENROLL_SNAPSHOT_PARTIAL: some pods of a snapshot failed (the others were applied)
 * - ENROLL_UNREACHABLE: no agent listens on the socket
 * - ENROLL_TIMEOUT: the agent did not answer in time
 * - ENROLL_CONNECTION_CLOSED: the connection ended before the reply
 * - ENROLL_REJECTED: the agent answered with an Error (its code is in `remoteCode`)
 * - ENROLL_SERVER_CLOSED: the server is shutting down
 * - ENROLL_SOCKET_IN_USE: another agent already answers on the socket
 */
export class EnrollError extends AmbitError {}

/** An Error reply from the agent, surfaced on the client. */
export class EnrollRejectedError extends EnrollError {
  readonly remoteCode: string;

  constructor(remoteCode: string, message: string) {
    super('ENROLL_REJECTED', message);
    this.remoteCode = remoteCode;
  }
}
