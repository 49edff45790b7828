/** Workload certificates for the identities of the pods on this node. */
export {
  CertificateManager,
  realScheduler,
  DEFAULT_CERT_TTL_SECONDS,
  DEFAULT_INITIAL_RETRY_MS,
  DEFAULT_MAX_RETRY_MS,
  REFRESH_JITTER_FRACTION,
  MIN_REFRESH_MS,
  type CertificateManagerOptions,
  type CertificateDump,
  type CertificateState,
  type CertificateListener,
  type Scheduler,
} from './manager.js';
export {
  GrpcCaClient,
  IMPERSONATED_IDENTITY_KEY,
  DEFAULT_CA_TIMEOUT_MS,
  type CaClient,
  type CertificateRequest,
  type GrpcCaClientOptions,
} from './ca-client.js';
export { acceptChain, uriSans, splitPem, type WorkloadCertificate, type TlsMaterial } from './certificate.js';
export { IdentityError } from './errors.js';
export { pushRenewals, type CertificateUser } from './renewal.js';
