/**
 * istiod's certificate authority: key material, workload and serving
 * certificates, and the IstioCertificateService gRPC service.
 *
 * Typical wiring:
 *
 *     const material = await loadOrCreateCaMaterial({ caDir, trustDomain, logger });
 *     const signer = new CertificateSigner(material);
 *     const serving = signer.issueServingCertificate(['istiod.istio-system.svc', 'localhost', '127.0.0.1']);
 *     const ca = new CaService({ signer, authenticator: await NodeTokenAuthenticator.fromFile(tokensFile),
 *                                nodeIdentities: ambientIndex, registry, logger });
 *     ca.addToServer(grpcServer);
 */
export { CaError, type CaErrorCode } from './errors.js';
export {
  loadOrCreateCaMaterial,
  caMaterialFromPem,
  CA_CERT_FILE,
  CA_KEY_FILE,
  ROOT_CERT_FILE,
  CERT_CHAIN_FILE,
  type CaMaterial,
  type CaPemInputs,
  type LoadCaOptions,
} from './material.js';
export {
  generateAuthority,
  generateKey,
  DEFAULT_CA_KEY_TYPE,
  DEFAULT_ROOT_TTL_SECONDS,
  type CaKeyType,
  type AuthorityOptions,
  type GeneratedAuthority,
} from './authority.js';
export {
  CertificateSigner,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  MAX_WORKLOAD_CERT_TTL_SECONDS,
  NOT_BEFORE_BACKDATE_SECONDS,
  DEFAULT_SERVING_CERT_TTL_SECONDS,
  type SignerOptions,
  type IssuedCertificate,
  type ServingCertificate,
} from './signer.js';
export { parseCsr, parseCsrAsync, MAX_CSR_PEM_BYTES, type ParsedCsr } from './csr.js';
export {
  NodeTokenAuthenticator,
  authorizeIdentity,
  MIN_TOKEN_LENGTH,
  type NodeIdentityLookup,
  type CallerAuthenticator,
  type Caller,
  type NodeTokenEntry,
} from './node-auth.js';
export { CaMetrics, type SignErrorType } from './metrics.js';
export {
  CaService,
  decodeCertificateRequest,
  grpcStatusOf,
  IMPERSONATED_IDENTITY_KEY,
  CERT_SIGNER_KEY,
  type CaServiceOptions,
  type CertificateRequest,
} from './server.js';
export type { SubjectAltNames } from './x509.js';
