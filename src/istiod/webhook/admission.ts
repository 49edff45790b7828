/**
 * `admission.k8s.io/v1` AdmissionReview for Istio configuration: decode the
 * review, validate `request.object` with the same validator `ambit
 * validate` and the config sources use, and build the answer. Pure
 * functions; the HTTP side is in server.ts.
 */
import type { FieldError } from '../config/types.js';
import { validateDocument } from '../config/validation/index.js';
import { WebhookError } from './errors.js';

/** AdmissionReview apiVersions answered; the answer echoes the request's. */
export const ADMISSION_API_VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/** The resource an admission request is about (metric labels). */
export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** The parts of an AdmissionRequest the webhook uses, decoded. */
export interface AdmissionRequest {
  readonly apiVersion: string;
  readonly uid: string;
  readonly operation: AdmissionOperation;
  readonly resource: GroupVersionResource;
  readonly name: string;
  readonly namespace: string;
  /** The object being admitted; absent for DELETE. */
  readonly object: unknown;
}

/** Istio's `reason` label values of galley_validation_failed. */
export type ValidationFailureReason =
  'unsupported_operation' | 'yaml_decode_error' | 'unknown_type' | 'invalid_resource';

export type AdmissionVerdict =
  | { readonly kind: 'allowed' }
  /** Allowed without validation (DELETE, CONNECT): counted as Istio counts them. */
  | { readonly kind: 'not-validated'; readonly reason: 'unsupported_operation' }
  | {
      readonly kind: 'denied';
      readonly reason: ValidationFailureReason;
      readonly message: string;
      readonly errors: readonly FieldError[];
    };

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bad(message: string): WebhookError {
  return new WebhookError('WEBHOOK_BAD_REQUEST', message);
}

function optionalString(r: Record<string, unknown>, key: string, at: string): string {
  const v = r[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw bad(`${at}.${key}: must be a string`);
  return v;
}

/** Decodes an AdmissionReview body (already parsed JSON); throws WEBHOOK_BAD_REQUEST saying what is wrong. */
export function decodeAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw bad('the body must be a JSON AdmissionReview object');
  const apiVersion = body['apiVersion'];
  if (typeof apiVersion !== 'string' || !ADMISSION_API_VERSIONS.includes(apiVersion)) {
    throw bad(
      `apiVersion: ${JSON.stringify(apiVersion ?? null)} is not one of ${ADMISSION_API_VERSIONS.join(', ')}`,
    );
  }
  if (body['kind'] !== 'AdmissionReview') {
    throw bad(`kind: ${JSON.stringify(body['kind'] ?? null)} is not AdmissionReview`);
  }
  const request = body['request'];
  if (!isRecord(request)) throw bad('request: an AdmissionReview must carry a request object');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') throw bad('request.uid: must be a non-empty string');
  const operation = request['operation'];
  if (typeof operation !== 'string' || !OPERATIONS.has(operation)) {
    throw bad(
      `request.operation: ${JSON.stringify(operation ?? null)} is not one of CREATE, UPDATE, DELETE, CONNECT`,
    );
  }
  const resourceRaw = request['resource'];
  if (resourceRaw !== undefined && !isRecord(resourceRaw)) throw bad('request.resource: must be an object');
  const res = resourceRaw ?? {};
  const resource = {
    group: optionalString(res, 'group', 'request.resource'),
    version: optionalString(res, 'version', 'request.resource'),
    resource: optionalString(res, 'resource', 'request.resource'),
  };
  const object = request['object'];
  if ((operation === 'CREATE' || operation === 'UPDATE') && (object === undefined || object === null)) {
    throw bad(`request.object: required for ${operation}`);
  }
  return {
    apiVersion,
    uid,
    operation: operation as AdmissionOperation,
    resource,
    name: optionalString(request, 'name', 'request'),
    namespace: optionalString(request, 'namespace', 'request'),
    object,
  };
}

/** Names the object for messages: `Kind ns/name`. */
function describe(object: Record<string, unknown>, request: AdmissionRequest): string {
  const kind = typeof object['kind'] === 'string' ? object['kind'] : 'object';
  const md = isRecord(object['metadata']) ? object['metadata'] : {};
  const name = typeof md['name'] === 'string' && md['name'] !== '' ? md['name'] : request.name;
  const ns =
    typeof md['namespace'] === 'string' && md['namespace'] !== '' ? md['namespace'] : request.namespace;
  return `${kind} ${ns === '' ? '' : `${ns}/`}${name === '' ? '(unnamed)' : name}`;
}

/**
 * The object as stored: the API server fills name and namespace in
 * `request` even when the object's own metadata omits them (namespace from
 * the URL, a name from generateName not yet chosen).
 */
function withRequestIdentity(
  object: Record<string, unknown>,
  request: AdmissionRequest,
): Record<string, unknown> {
  if (!isRecord(object['metadata'])) return object;
  const md = { ...object['metadata'] };
  if ((md['namespace'] === undefined || md['namespace'] === '') && request.namespace !== '') {
    md['namespace'] = request.namespace;
  }
  if (md['name'] === undefined || md['name'] === '') {
    if (request.name !== '') md['name'] = request.name;
    else if (typeof md['generateName'] === 'string' && md['generateName'] !== '') {
      // The server appends 5 characters; validate a name of that shape.
      md['name'] = `${md['generateName']}xxxxx`;
    }
  }
  return { ...object, metadata: md };
}

/** Validates the request's object (CREATE/UPDATE); DELETE and CONNECT are always allowed. */
export function admit(request: AdmissionRequest): AdmissionVerdict {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
    return { kind: 'not-validated', reason: 'unsupported_operation' };
  }
  if (!isRecord(request.object)) {
    const message = 'cannot decode configuration: request.object is not an object';
    return { kind: 'denied', reason: 'yaml_decode_error', message, errors: [] };
  }
  const object = withRequestIdentity(request.object, request);
  const result = validateDocument(object, { source: 'admission' });
  if (result.kind === 'valid') return { kind: 'allowed' };
  const unknownType = result.errors.some((e) => e.path === 'kind' || e.path === 'apiVersion');
  const detail = result.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return {
    kind: 'denied',
    reason: unknownType ? 'unknown_type' : 'invalid_resource',
    message: `${describe(object, request)} is invalid: ${detail}`,
    errors: result.errors,
  };
}

/** The AdmissionReview answer for a verdict, echoing the request's uid and apiVersion. */
export function admissionResponse(
  request: AdmissionRequest,
  verdict: AdmissionVerdict,
): Record<string, unknown> {
  const response: Record<string, unknown> = { uid: request.uid, allowed: verdict.kind !== 'denied' };
  if (verdict.kind === 'denied') {
    response['status'] = { code: 400, reason: 'Invalid', message: verdict.message };
  }
  return { apiVersion: request.apiVersion, kind: 'AdmissionReview', response };
}
