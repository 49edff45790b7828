/**
 * The contract each per-kind module implements: which apiVersions it accepts,
 * how its objects are named and scoped, the shape of its top-level fields
 * besides apiVersion/kind/metadata, and the semantic checks that turn the
 * decoded fields into the typed spec.
 */
import type { ConfigKind, ObjectMeta, PodStatus, SpecByKind } from '../types.js';
import type { NameRule } from './metadata.js';
import type { Issues, Shape } from './shape.js';

export interface KindValidator<K extends ConfigKind = ConfigKind> {
  readonly kind: K;
  /**
   * The `kind` documents carry, when it differs from the ConfigKind: the
   * Gateway API Gateway is `kind: Gateway` like Istio's, stored as
   * `KubernetesGateway` (Istio's internal name for it).
   */
  readonly apiKind?: string;
  readonly apiVersions: readonly string[];
  readonly namespaced: boolean;
  readonly nameRule: NameRule;
  /** Shapes of the top-level fields other than apiVersion, kind and metadata. */
  readonly topLevel: Readonly<Record<string, Shape>>;
  /**
   * Runs the semantic checks on the structurally decoded top-level fields and
   * builds the normalized spec. Problems go into `issues`; the returned spec
   * is only used when no problem was found.
   */
  build(top: Readonly<Record<string, unknown>>, meta: ObjectMeta, issues: Issues): BuiltObject<K>;
}

export interface BuiltObject<K extends ConfigKind> {
  readonly spec: SpecByKind[K];
  readonly status?: PodStatus;
}

/** Istio networking kinds are served at these versions (v1 is the storage version in current Istio). */
export const NETWORKING_VERSIONS = [
  'networking.istio.io/v1',
  'networking.istio.io/v1beta1',
  'networking.istio.io/v1alpha3',
] as const;

/** Istio security kinds. */
export const SECURITY_VERSIONS = ['security.istio.io/v1', 'security.istio.io/v1beta1'] as const;

/** The Kubernetes Gateway API group. */
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/**
 * `gateway.networking.k8s.io/<version>` for each version: the versions the
 * Gateway API CRDs of recent releases serve (v1.2/v1.3), plus the older
 * ones still found in manifests (v1alpha2 GRPCRoute and ReferenceGrant) and
 * the v1 that v1.5 added for TCPRoute and ReferenceGrant.
 */
export function gatewayApiVersions(...versions: string[]): readonly string[] {
  return versions.map((v) => `${GATEWAY_API_GROUP}/${v}`);
}
