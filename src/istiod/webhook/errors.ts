import { AmbitError } from '../../shared/errors.js';

/** Stable codes of the admission webhook's errors. */
export type WebhookErrorCode =
  /** The request body is not an AdmissionReview the webhook can answer (HTTP 400). */
  | 'WEBHOOK_BAD_REQUEST'
  /** The webhook's listener could not be started. */
  | 'WEBHOOK_LISTEN_FAILED';

export class WebhookError extends AmbitError {
  declare readonly code: WebhookErrorCode;

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
