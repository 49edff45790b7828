/**
 * Validation of raw configuration documents into typed ConfigObjects: the
 * edge where YAML/JSON becomes domain data. Every problem is reported with
 * its full field path; all problems of an object are collected.
 */
import { LOCAL_MESH_KINDS, type AnyConfigObject, type ConfigKind, type ConfigObject, type ConfigOrigin, type FieldError } from '../types.js';
import { decodeMetadata, peekIdentity } from './metadata.js';
import { ANY, STRING, decodeFields, isRecord, key, Issues } from './shape.js';
import type { KindValidator } from './validator.js';
import { namespaceValidator } from './namespace.js';
import { serviceValidator } from './service.js';
import { podValidator } from './pod.js';
import { serviceAccountValidator } from './service-account.js';
import { workloadEntryValidator } from './workload-entry.js';
import { serviceEntryValidator } from './service-entry.js';
import { virtualServiceValidator } from './virtual-service.js';
import { destinationRuleValidator } from './destination-rule.js';
import { gatewayValidator } from './gateway.js';
import { authorizationPolicyValidator } from './authorization-policy.js';
import { peerAuthenticationValidator } from './peer-authentication.js';
import { deploymentValidator } from './deployment.js';
import { gatewayClassValidator, kubernetesGatewayValidator } from './gateway-api-gateway.js';
import { httpRouteValidator } from './gateway-api-http-route.js';
import { grpcRouteValidator } from './gateway-api-grpc-route.js';
import { tcpRouteValidator } from './gateway-api-tcp-route.js';
import { referenceGrantValidator } from './gateway-api-reference-grant.js';

export type ValidationResult =
  | { readonly kind: 'valid'; readonly object: AnyConfigObject }
  | {
      readonly kind: 'invalid';
      readonly objectKind?: string;
      readonly name?: string;
      readonly namespace?: string;
      readonly errors: readonly FieldError[];
    };

/** The path used for problems with a document as a whole (not an object, unparsable). */
export const DOCUMENT_PATH = '(document)';

const VALIDATORS: { readonly [K in ConfigKind]: KindValidator<K> } = {
  Namespace: namespaceValidator,
  Service: serviceValidator,
  Pod: podValidator,
  ServiceAccount: serviceAccountValidator,
  WorkloadEntry: workloadEntryValidator,
  ServiceEntry: serviceEntryValidator,
  VirtualService: virtualServiceValidator,
  DestinationRule: destinationRuleValidator,
  Gateway: gatewayValidator,
  AuthorizationPolicy: authorizationPolicyValidator,
  PeerAuthentication: peerAuthenticationValidator,
  Deployment: deploymentValidator,
  KubernetesGateway: kubernetesGatewayValidator,
  GatewayClass: gatewayClassValidator,
  HTTPRoute: httpRouteValidator,
  GRPCRoute: grpcRouteValidator,
  TCPRoute: tcpRouteValidator,
  ReferenceGrant: referenceGrantValidator,
};

/** The document `kind` a validator reads. */
function apiKindOf(v: KindValidator): string {
  return v.apiKind ?? v.kind;
}

/** `networking.istio.io/v1` -> `networking.istio.io`; `v1` -> `` (the core group). */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Every validator, by the document kind it reads (Gateway has two: Istio's and the Gateway API's). */
const BY_API_KIND: ReadonlyMap<string, readonly KindValidator[]> = (() => {
  const m = new Map<string, KindValidator[]>();
  for (const v of Object.values(VALIDATORS) as KindValidator[]) {
    const k = apiKindOf(v);
    m.set(k, [...(m.get(k) ?? []), v]);
  }
  return m;
})();

/**
 * Picks the validator of a document: by kind, and when several kinds share
 * the name, by the group of its apiVersion. Undefined `validator` with
 * candidates means the kind is known but the group is not.
 */
function validatorFor(
  kind: string,
  apiVersion: unknown,
): { readonly validator?: KindValidator; readonly candidates: readonly KindValidator[] } {
  const candidates = BY_API_KIND.get(kind) ?? [];
  if (candidates.length <= 1) return { ...(candidates[0] !== undefined ? { validator: candidates[0] } : {}), candidates };
  const group = typeof apiVersion === 'string' ? groupOf(apiVersion) : undefined;
  const validator = candidates.find((v) => v.apiVersions.some((av) => groupOf(av) === group));
  return { ...(validator !== undefined ? { validator } : {}), candidates };
}

/** One kind `validateDocument` accepts. */
export interface SupportedKind {
  /** The ConfigKind objects of this kind are stored as. */
  readonly kind: ConfigKind;
  /** The `kind` of its documents (`Gateway` for `KubernetesGateway`). */
  readonly apiKind: string;
  /** Its API group; `` for the core group. */
  readonly group: string;
  /** Every `apiVersion` accepted, all in `group`. */
  readonly apiVersions: readonly string[];
  readonly namespaced: boolean;
}

/** Every kind `validateDocument` accepts, with its group and apiVersions. */
export function validatedKinds(): readonly SupportedKind[] {
  return (Object.values(VALIDATORS) as KindValidator[]).map((v) => ({
    kind: v.kind,
    apiKind: apiKindOf(v),
    group: groupOf(v.apiVersions[0] ?? ''),
    apiVersions: v.apiVersions,
    namespaced: v.namespaced,
  }));
}

/** The kinds istiod serves (watch list, CRDs, RBAC, webhook): every validated kind but the local mesh's. */
export function supportedKinds(): readonly SupportedKind[] {
  return validatedKinds().filter((k) => !LOCAL_MESH_KINDS.includes(k.kind));
}

const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
const GO_BOOLS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Istio accepts `istio.io/dry-run` only on ALLOW/DENY AuthorizationPolicies, with a boolean value. */
function checkDryRun(
  issues: Issues,
  kind: ConfigKind,
  annotations: Readonly<Record<string, string>>,
  spec: unknown,
): void {
  const value = annotations[DRY_RUN_ANNOTATION];
  if (value === undefined) return;
  const path = key('metadata.annotations', DRY_RUN_ANNOTATION);
  if (kind !== 'AuthorizationPolicy') {
    issues.add(path, `${kind} does not support the ${DRY_RUN_ANNOTATION} annotation; remove it`);
    return;
  }
  const action =
    (isRecord(spec) && typeof spec['action'] === 'string' ? spec['action'] : undefined) ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') {
    issues.add(
      path,
      `the ${DRY_RUN_ANNOTATION} annotation only supports action ALLOW or DENY, found ${action}`,
    );
  } else if (!GO_BOOLS.has(value)) {
    issues.add(path, `invalid value ${JSON.stringify(value)}: must be "true" or "false"`);
  }
}

function invalid(
  errors: readonly FieldError[],
  identity: { objectKind?: string; name?: string; namespace?: string },
): ValidationResult {
  return { kind: 'invalid', ...identity, errors };
}

/**
 * Validates one raw document (as parsed from YAML/JSON or received from the
 * API server) and returns the typed, normalized object, or every problem
 * found with its field path.
 */
export function validateDocument(raw: unknown, origin: ConfigOrigin): ValidationResult {
  if (!isRecord(raw)) {
    return invalid([{ path: DOCUMENT_PATH, message: 'a configuration document must be an object' }], {});
  }
  const identity = peekIdentity(raw);
  const kindValue = raw['kind'];
  const apiVersion = raw['apiVersion'];
  const issues = new Issues();
  if (typeof kindValue !== 'string' || kindValue === '') {
    issues.add('kind', kindValue === undefined ? 'kind is required' : 'kind must be a non-empty string');
    return invalid(issues.errors, identity);
  }
  const { validator, candidates } = validatorFor(kindValue, apiVersion);
  if (candidates.length === 0) {
    issues.add(
      'kind',
      `unsupported kind ${JSON.stringify(kindValue)}; supported: ${[...BY_API_KIND.keys()].join(', ')}`,
    );
    return invalid(issues.errors, { objectKind: kindValue, ...identity });
  }
  const withKind = { objectKind: kindValue, ...identity };
  if (validator === undefined) {
    const groups = candidates.map((v) => groupOf(v.apiVersions[0] ?? ''));
    issues.add(
      'apiVersion',
      typeof apiVersion === 'string'
        ? `unsupported group ${JSON.stringify(groupOf(apiVersion))} for ${kindValue}; expected ${groups.join(' or ')}`
        : `apiVersion is required (${candidates.flatMap((v) => v.apiVersions).join(', ')})`,
    );
    return invalid(issues.errors, withKind);
  }
  if (typeof apiVersion !== 'string' || !validator.apiVersions.includes(apiVersion)) {
    issues.add(
      'apiVersion',
      apiVersion === undefined
        ? `apiVersion is required (${validator.apiVersions.join(', ')})`
        : `unsupported apiVersion ${JSON.stringify(apiVersion)} for ${kindValue}; expected ${validator.apiVersions.join(' or ')}`,
    );
    return invalid(issues.errors, withKind);
  }

  const metadata = decodeMetadata(raw['metadata'], validator, issues);
  const top =
    decodeFields<Record<string, unknown>>(
      raw,
      { apiVersion: STRING, kind: STRING, metadata: ANY, ...validator.topLevel },
      '',
      issues,
    ) ?? {};
  checkDryRun(issues, validator.kind, metadata.annotations, top['spec']);
  const built = validator.build(top, metadata, issues);
  if (issues.count > 0) {
    return invalid(issues.errors, {
      objectKind: kindValue,
      name: metadata.name,
      namespace: metadata.namespace,
    });
  }
  const object = {
    kind: validator.kind,
    apiVersion,
    metadata,
    spec: built.spec,
    ...(built.status !== undefined ? { status: built.status } : {}),
    origin,
  } as ConfigObject;
  return { kind: 'valid', object: object as AnyConfigObject };
}
