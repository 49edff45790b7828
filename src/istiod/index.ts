/** The control plane role: what other roles (the CLI) may use of it. */
export { loadConfigFiles, parseConfigText, type LoadedFile, type ParsedDocument } from './config/parse.js';
export { DOCUMENT_PATH, supportedKinds, validatedKinds, validateDocument, type SupportedKind } from './config/validation/index.js';
export { GATEWAY_API_KINDS, type GatewayApiKind, type FieldError, type AnyConfigObject, type ConfigObject, type Container, type DeploymentSpec, type EnvVar, type PodSpec, type ServiceSpec } from './config/types.js';
export { DEFAULT_ROOT_NAMESPACE, DEFAULT_TRUST_DOMAIN, DEFAULT_CA_DIR, DEFAULT_CLUSTER_ID, DEFAULT_CONFIG_DEBOUNCE_MS, DEFAULT_DOMAIN_SUFFIX, DEFAULT_GRPC_ADDR, DEFAULT_MAX_WORKLOAD_CERT_TTL_SECONDS, DEFAULT_MONITORING_ADDR, DEFAULT_PUSH_DEBOUNCE_MS, DEFAULT_SECURE_GRPC_ADDR, DEFAULT_WORKLOAD_CERT_TTL_SECONDS, IstiodConfigError, parseHostPort, parseSeconds, validateIstiodConfig, type IstiodConfig } from './config.js';
export { ConfigStore } from './config/store.js';
export { AmbientIndex } from './index/index.js';
export { startIstiod } from './server.js';
export { DEFAULT_WEBHOOK_ADDR } from './webhook/index.js';
export { podEnrolled } from './index/labels.js';
