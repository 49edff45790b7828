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
};

function validatorFor(kind: string): KindValidator | undefined {
  return Object.hasOwn(VALIDATORS, kind) ? (VALIDATORS[kind as ConfigKind] as KindValidator) : undefined;
}

/** Every kind `validateDocument` accepts, with its apiVersions. */
export function validatedKinds(): readonly {
  readonly kind: ConfigKind;
  readonly apiVersions: readonly string[];
}[] {
  return Object.values(VALIDATORS).map((v) => ({ kind: v.kind, apiVersions: v.apiVersions }));
}

/** The kinds istiod serves (watch list, CRDs, RBAC, webhook): every validated kind but the local mesh's. */
export function supportedKinds(): readonly {
  readonly kind: ConfigKind;
  readonly apiVersions: readonly string[];
}[] {
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
  const validator = validatorFor(kindValue);
  if (validator === undefined) {
    issues.add(
      'kind',
      `unsupported kind ${JSON.stringify(kindValue)}; supported: ${Object.keys(VALIDATORS).join(', ')}`,
    );
    return invalid(issues.errors, { objectKind: kindValue, ...identity });
  }
  const withKind = { objectKind: kindValue, ...identity };
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
