/**
 * istiod's validating admission webhook: AdmissionReviews for Istio
 * configuration checked with the same validator as `ambit validate`.
 *
 *     const webhook = new WebhookServer({ host: '0.0.0.0', port: 15017, certChainPem, keyPem, registry, logger });
 *     await webhook.listen();
 */
export { WebhookError, type WebhookErrorCode } from './errors.js';
export {
  admit,
  admissionResponse,
  decodeAdmissionReview,
  ADMISSION_API_VERSIONS,
  type AdmissionOperation,
  type AdmissionRequest,
  type AdmissionVerdict,
  type GroupVersionResource,
  type ValidationFailureReason,
} from './admission.js';
export { WebhookMetrics } from './metrics.js';
export {
  WebhookServer,
  DEFAULT_WEBHOOK_ADDR,
  MAX_ADMISSION_BODY_BYTES,
  type WebhookServerOptions,
} from './server.js';
