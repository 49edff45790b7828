/**
 * The CA on Kubernetes: TokenReview authentication of node agents, the root
 * kept in Secrets, the root bundle published as ConfigMaps, and
 * `startKubernetesSecurity` that starts them (and the admission webhook) together.
 */
export { KubeCaError, type KubeCaErrorCode } from './errors.js';
export {
  KubeConfigRestClient,
  DEFAULT_KUBE_REQUEST_TIMEOUT_MS,
  type KubeRestClient,
  type KubeCredentials,
  type KubeResponse,
  type HttpMethod,
} from './rest-client.js';
export {
  TokenReviewAuthenticator,
  parseTrustedAccounts,
  decodeTokenReviewStatus,
  bearerToken,
  jwtExpiryMs,
  DEFAULT_CA_TOKEN_AUDIENCES,
  DEFAULT_TRUSTED_NODE_ACCOUNTS,
  DEFAULT_REVIEW_CACHE_TTL_MS,
  DEFAULT_REVIEW_CACHE_MAX_ENTRIES,
  POD_NAME_EXTRA,
  POD_UID_EXTRA,
  type ServiceAccountRef,
  type ReviewedToken,
  type TokenReviewAuthenticatorOptions,
} from './token-review.js';
export {
  loadOrCreateKubeCaMaterial,
  decodeSecretData,
  SELF_SIGNED_CA_SECRET,
  PLUGGED_IN_CA_SECRET,
  CA_SECRET_TYPE,
  type KubeCaMaterialOptions,
} from './root-secret.js';
export {
  RootCertPublisher,
  ROOT_CERT_CONFIGMAP,
  ROOT_CERT_CONFIGMAP_KEY,
  OWNED_LABEL_KEY,
  OWNED_LABEL_VALUE,
  IGNORED_NAMESPACES,
  DEFAULT_ROOT_CONFIGMAP_RESYNC_MS,
  type PublishOutcome,
  type RootCertPublisherOptions,
} from './root-configmap.js';
export {
  startKubernetesSecurity,
  kubernetesSecurityFromEnv,
  webhookServingNames,
  DEFAULT_ISTIOD_NAMESPACE,
  POD_NAMESPACE_ENV,
  TRUSTED_NODE_ACCOUNTS_ENV,
  type KubernetesSecurityEnv,
  type KubernetesSecurity,
  type KubernetesSecurityOptions,
} from './security.js';
