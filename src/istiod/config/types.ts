/**
 * The typed configuration objects istiod works on. Raw YAML/JSON is decoded
 * and validated once at the edge (validation/) into these shapes; nothing
 * deeper sees raw documents. Field names follow the Kubernetes and Istio APIs
 * (camelCase as in YAML).
 */

export const CONFIG_KINDS = [
  'Namespace',
  'Service',
  'Pod',
  'ServiceAccount',
  'WorkloadEntry',
  'ServiceEntry',
  'AuthorizationPolicy',
  'PeerAuthentication',
  'VirtualService',
  'DestinationRule',
  'Gateway',
  'Deployment',
  // Gateway API (gateway.networking.k8s.io); its Gateway is stored as KubernetesGateway, Istio's internal name.
  'KubernetesGateway',
  'GatewayClass',
  'HTTPRoute',
  'GRPCRoute',
  'TCPRoute',
  'ReferenceGrant',
] as const;

export type ConfigKind = (typeof CONFIG_KINDS)[number];

/**
 * Kinds validated for the local mesh (`ambit mesh apply`), which turns them
 * into Pods; istiod neither watches nor ships CRDs or RBAC for them.
 */
export const LOCAL_MESH_KINDS: readonly ConfigKind[] = ['Deployment'];

/**
 * The Gateway API kinds: validated and stored, but no part of routing or
 * policy yet (a caller may say they take no effect).
 */
export const GATEWAY_API_KINDS = [
  'KubernetesGateway',
  'GatewayClass',
  'HTTPRoute',
  'GRPCRoute',
  'TCPRoute',
  'ReferenceGrant',
] as const satisfies readonly ConfigKind[];

export type GatewayApiKind = (typeof GATEWAY_API_KINDS)[number];

/** Where an object came from: a file and its document index, or a cluster source. */
export interface ConfigOrigin {
  readonly source: string; // "file" | "kubernetes" | "test" ...
  readonly file?: string;
  /** Zero-based index of the document inside a multi-document file. */
  readonly index?: number;
}

export interface ObjectMeta {
  readonly name: string;
  /** Empty for cluster-scoped kinds (Namespace). Defaults to "default" for namespaced kinds. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  /** RFC 3339; used for "oldest wins" precedence (PeerAuthentication). */
  readonly creationTimestamp?: string;
}

// ---------- Kubernetes kinds (the parts istiod uses) ----------

export interface NamespaceSpec {
  readonly [k: string]: never;
}

export interface ServicePort {
  readonly name?: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  /** A number, or the name of a container port; absent means `port`. */
  readonly targetPort?: number | string;
  readonly appProtocol?: string;
  readonly nodePort?: number;
}

export interface ServiceSpec {
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** "None" for headless services. */
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePort[];
  readonly externalName?: string;
  readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A container's environment variable: a literal value, or a field of its pod (the downward API). */
export type EnvVar =
  | { readonly kind: 'value'; readonly name: string; readonly value: string }
  | { readonly kind: 'field'; readonly name: string; readonly fieldPath: string };

export interface Container {
  readonly name: string;
  readonly image?: string;
  /** The entrypoint override (Kubernetes `command`) and its arguments (`args`), as written. */
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env: readonly EnvVar[];
  readonly ports: readonly ContainerPort[];
}

export interface PodSpec {
  readonly nodeName?: string;
  readonly serviceAccountName?: string;
  readonly hostNetwork?: boolean;
  readonly containers: readonly Container[];
}

export interface PodStatus {
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  /** Pending | Running | Succeeded | Failed | Unknown */
  readonly phase?: string;
  readonly conditions?: readonly { readonly type: string; readonly status: string }[];
}

/** `apps/v1` Deployment: the local mesh turns it into replica pods; istiod itself does not read it. */
export interface DeploymentSpec {
  readonly replicas: number;
  readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
  readonly template: {
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
    readonly spec: PodSpec;
  };
}

export interface ServiceAccountSpec {
  readonly [k: string]: never;
}

// ---------- Istio networking ----------

export interface WorkloadEntrySpec {
  readonly address?: string;
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export interface ServiceEntryPort {
  readonly number: number;
  readonly protocol?: string;
  readonly name: string;
  readonly targetPort?: number;
}

export interface ServiceEntrySpec {
  readonly hosts: readonly string[];
  readonly addresses?: readonly string[];
  readonly ports?: readonly ServiceEntryPort[];
  readonly location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  readonly resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  readonly endpoints?: readonly WorkloadEntrySpec[];
  readonly workloadSelector?: { readonly labels: Readonly<Record<string, string>> };
  readonly exportTo?: readonly string[];
  readonly subjectAltNames?: readonly string[];
}

// ---------- Istio security ----------

export interface WorkloadSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
}

export interface PolicyTargetReference {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface AuthzSource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly serviceAccounts?: readonly string[];
  readonly notServiceAccounts?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

export interface AuthzOperation {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface AuthzCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface AuthzRule {
  readonly from?: readonly { readonly source: AuthzSource }[];
  readonly to?: readonly { readonly operation: AuthzOperation }[];
  readonly when?: readonly AuthzCondition[];
}

export interface AuthorizationPolicySpec {
  readonly selector?: WorkloadSelector;
  readonly targetRef?: PolicyTargetReference;
  readonly targetRefs?: readonly PolicyTargetReference[];
  readonly rules?: readonly AuthzRule[];
  /** Absent means ALLOW. */
  readonly action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  readonly provider?: { readonly name: string };
}

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  readonly selector?: WorkloadSelector;
  readonly mtls?: { readonly mode?: MtlsMode };
  /** Keyed by workload port (as a decimal string in YAML). */
  readonly portLevelMtls?: Readonly<Record<string, { readonly mode?: MtlsMode }>>;
}

// ---------- L7 kinds: validated and stored now, used by the waypoint later ----------

/** VirtualService, DestinationRule, Gateway and the Gateway API specs are kept as validated plain data. */
export type L7Spec = Readonly<Record<string, unknown>>;

export interface SpecByKind {
  Namespace: NamespaceSpec;
  Service: ServiceSpec;
  Pod: PodSpec;
  ServiceAccount: ServiceAccountSpec;
  WorkloadEntry: WorkloadEntrySpec;
  ServiceEntry: ServiceEntrySpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  PeerAuthentication: PeerAuthenticationSpec;
  VirtualService: L7Spec;
  DestinationRule: L7Spec;
  Gateway: L7Spec;
  Deployment: DeploymentSpec;
  KubernetesGateway: L7Spec;
  GatewayClass: L7Spec;
  HTTPRoute: L7Spec;
  GRPCRoute: L7Spec;
  TCPRoute: L7Spec;
  ReferenceGrant: L7Spec;
}

/** A validated configuration object. */
export interface ConfigObject<K extends ConfigKind = ConfigKind> {
  readonly kind: K;
  readonly apiVersion: string;
  readonly metadata: ObjectMeta;
  readonly spec: SpecByKind[K];
  /** Only Pods carry a status istiod reads. */
  readonly status?: K extends 'Pod' ? PodStatus : undefined;
  readonly origin: ConfigOrigin;
}

export type AnyConfigObject = { [K in ConfigKind]: ConfigObject<K> }[ConfigKind];

/** The store key of an object: "<Kind>/<namespace>/<name>" ("<Kind>//<name>" when cluster-scoped). */
export function configKey(kind: ConfigKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function keyOf(obj: { readonly kind: ConfigKind; readonly metadata: ObjectMeta }): string {
  return configKey(obj.kind, obj.metadata.namespace, obj.metadata.name);
}

/** One problem found in one object, located by its field path (`spec.rules[0].to[1].operation.ports[0]`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export type ConfigEvent =
  | { readonly kind: 'add'; readonly object: AnyConfigObject }
  | { readonly kind: 'update'; readonly object: AnyConfigObject; readonly previous: AnyConfigObject }
  | { readonly kind: 'delete'; readonly object: AnyConfigObject };
