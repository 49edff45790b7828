/**
 * Errors of the Kubernetes config source: API requests that failed (with the
 * HTTP status and the API server's Status reason when there is one), watch
 * streams that broke, and a source stopped before it synced.
 */
import { AmbitError } from '../../../../shared/errors.js';

export type KubeSourceErrorCode =
  /** The kubeconfig (file or in-cluster) could not be loaded or names no cluster. */
  | 'KUBE_CONFIG_INVALID'
  /** The API server could not be reached (connection refused, reset, timeout). */
  | 'KUBE_UNREACHABLE'
  /** The API server answered a request with a non-2xx status. */
  | 'KUBE_REQUEST_FAILED'
  /** The requested resourceVersion is too old (HTTP 410 or a watch ERROR event with code 410): re-list. */
  | 'KUBE_GONE'
  /** A response body or a watch event line was not the JSON the protocol defines. */
  | 'KUBE_BAD_RESPONSE'
  /** The source was stopped before its initial list finished. */
  | 'KUBE_SOURCE_STOPPED';

export class KubeSourceError extends AmbitError {
  declare readonly code: KubeSourceErrorCode;
  /** HTTP status (or the Status `code` of a watch ERROR event), when the server answered. */
  readonly statusCode: number | undefined;

  constructor(code: KubeSourceErrorCode, message: string, options?: { cause?: unknown; statusCode?: number }) {
    super(code, message, options);
    this.statusCode = options?.statusCode;
  }
}

/** Whether an error means "your resourceVersion is gone, list again". */
export function isGone(err: unknown): boolean {
  return err instanceof KubeSourceError && err.code === 'KUBE_GONE';
}
