import { AmbitError } from '../../../shared/errors.js';

/** Stable codes of the Kubernetes-backed CA's errors (the API client, the root Secret, the ConfigMap publisher). */
export type KubeCaErrorCode =
  /** The API server could not be reached or did not answer in time. */
  | 'KUBE_API_UNAVAILABLE'
  /** The API server answered with an unexpected status or body. */
  | 'KUBE_API_FAILED'
  /** A CA Secret exists but does not hold a usable CA (names the Secret and key). */
  | 'KUBE_CA_SECRET_INVALID'
  /** A setting of the Kubernetes CA is malformed (names the setting and value). */
  | 'KUBE_CA_CONFIG_INVALID';

export class KubeCaError extends AmbitError {
  declare readonly code: KubeCaErrorCode;

  constructor(code: KubeCaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
