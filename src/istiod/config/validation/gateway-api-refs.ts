/**
 * The Gateway API's shared field types and references (apis/v1
 * shared_types.go, object_reference_types.go): the string formats its
 * kubebuilder markers declare (Group, Kind, ObjectName, Namespace,
 * SectionName, Hostname, HeaderName, Duration), list limits, and the CEL
 * rules on parentRefs and backendRefs. The API server enforces the same on
 * the CRDs; checking here gives `ambit validate` and the directory source
 * the same answer, with field paths.
 */
import { STRING, arr, field, index, obj, type Issues, type Shape } from './shape.js';
import { GATEWAY_API_GROUP } from './validator.js';

// ---------- string formats ----------

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Hostname: a DNS-1123 subdomain, optionally prefixed by one `*.` wildcard label. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** HeaderName: an RFC 7230 token. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Duration: a GEP-2257 duration, e.g. `10s`, `1h30m`, `500ms`. */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
/** A domain-prefixed path (`example.com/my-controller`): GatewayController, custom protocols and address types. */
const DOMAIN_PREFIXED = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;

interface TextRule {
  readonly what: string;
  readonly min: number;
  readonly max: number;
  readonly pattern?: RegExp;
  /** Appended to the pattern failure: what the value may contain. */
  readonly hint?: string;
}

/** Checks a string against a Gateway API string type; reports at `path`. */
export function checkText(issues: Issues, path: string, v: string | undefined, rule: TextRule): void {
  if (v === undefined) return;
  if (v.length < rule.min) {
    issues.add(path, rule.min === 1 ? `${rule.what} must not be empty` : `${rule.what} must be at least ${rule.min} characters`);
    return;
  }
  if (v.length > rule.max) {
    issues.add(path, `${rule.what} must be no more than ${rule.max} characters`);
    return;
  }
  if (rule.pattern !== undefined && !rule.pattern.test(v)) {
    issues.add(path, `${JSON.stringify(v)} is not a valid ${rule.what}${rule.hint !== undefined ? `: ${rule.hint}` : ''}`);
  }
}

export const GROUP_RULE: TextRule = { what: 'group', min: 0, max: 253, pattern: GROUP, hint: 'empty (the core group) or a DNS-1123 subdomain' };
export const KIND_RULE: TextRule = { what: 'kind', min: 1, max: 63, pattern: KIND, hint: 'letters, digits and "-", starting with a letter' };
export const OBJECT_NAME_RULE: TextRule = { what: 'name', min: 1, max: 253 };
export const NAMESPACE_RULE: TextRule = { what: 'namespace', min: 1, max: 63, pattern: NAMESPACE, hint: 'a DNS-1123 label' };
export const SECTION_NAME_RULE: TextRule = { what: 'section name', min: 1, max: 253, pattern: DNS1123_SUBDOMAIN, hint: 'a DNS-1123 subdomain' };
export const HOSTNAME_RULE: TextRule = {
  what: 'hostname',
  min: 1,
  max: 253,
  pattern: HOSTNAME,
  hint: 'a lower case DNS name, optionally starting with a "*." wildcard label (no IP addresses)',
};
export const PRECISE_HOSTNAME_RULE: TextRule = { what: 'hostname', min: 1, max: 253, pattern: DNS1123_SUBDOMAIN, hint: 'a lower case DNS name without wildcards' };
export const HEADER_NAME_RULE: TextRule = { what: 'header name', min: 1, max: 256, pattern: HEADER_NAME, hint: 'an HTTP token (RFC 7230)' };
export const DURATION_RULE: TextRule = { what: 'duration', min: 1, max: 64, pattern: DURATION, hint: 'e.g. "10s", "1h30m", "500ms" (units h, m, s, ms)' };
export const CONTROLLER_NAME_RULE: TextRule = {
  what: 'controller name',
  min: 1,
  max: 253,
  pattern: DOMAIN_PREFIXED,
  hint: 'a domain-prefixed path such as "istio.io/gateway-controller"',
};

/** Whether a value is a domain-prefixed path (custom protocols, address types). */
export function isDomainPrefixed(v: string): boolean {
  return DOMAIN_PREFIXED.test(v);
}

/** Reports a list longer than `max` at the list's path. */
export function checkMaxItems(issues: Issues, path: string, list: readonly unknown[] | undefined, max: number, what: string): void {
  if (list !== undefined && list.length > max) issues.add(path, `at most ${max} ${what} are allowed, found ${list.length}`);
}

/** Reports a missing or empty required list at the list's path. */
export function checkRequiredList(issues: Issues, path: string, list: readonly unknown[] | undefined, what: string): void {
  if (list === undefined) issues.add(path, `${what} is required`);
  else if (list.length === 0) issues.add(path, `${what} must have at least one entry`);
}

/** Reports a missing or empty required string at `path`. */
export function requireText(issues: Issues, path: string, v: string | undefined, what: string): boolean {
  if (v === undefined) {
    issues.add(path, `${what} is required`);
    return false;
  }
  return true;
}

// ---------- ports and weights ----------

/** PortNumber: 1..65535. */
export const PORT_NUMBER: Shape = { t: 'int', min: 1, max: 65535 };
/** BackendRef weight: 0..1000000. */
export const WEIGHT: Shape = { t: 'int', min: 0, max: 1000000 };
const INT32_NON_NEGATIVE: Shape = { t: 'int', min: 0, max: 2147483647 };

// ---------- references ----------

export const PARENT_REF: Shape = obj({
  group: STRING,
  kind: STRING,
  namespace: STRING,
  name: STRING,
  sectionName: STRING,
  port: PORT_NUMBER,
});

export const BACKEND_OBJECT_REF_FIELDS = {
  group: STRING,
  kind: STRING,
  name: STRING,
  namespace: STRING,
  port: PORT_NUMBER,
} as const;

export const BACKEND_REF: Shape = obj({ ...BACKEND_OBJECT_REF_FIELDS, weight: WEIGHT });

export const LOCAL_OBJECT_REF: Shape = obj({ group: STRING, kind: STRING, name: STRING });

export const SECRET_OBJECT_REF: Shape = obj({ group: STRING, kind: STRING, name: STRING, namespace: STRING });

export interface ParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export interface BackendObjectRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly port?: number;
  readonly weight?: number;
}

export interface LocalObjectRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name?: string;
}

/** The group/kind/name(/namespace) fields every reference type shares. */
function checkRefFields(issues: Issues, path: string, ref: BackendObjectRef, requireGroupKind: boolean): void {
  if (requireGroupKind) {
    requireText(issues, field(path, 'group'), ref.group, 'group');
    requireText(issues, field(path, 'kind'), ref.kind, 'kind');
  }
  checkText(issues, field(path, 'group'), ref.group, GROUP_RULE);
  checkText(issues, field(path, 'kind'), ref.kind, KIND_RULE);
  if (requireText(issues, field(path, 'name'), ref.name, 'name'))
    checkText(issues, field(path, 'name'), ref.name, OBJECT_NAME_RULE);
  checkText(issues, field(path, 'namespace'), ref.namespace, NAMESPACE_RULE);
}

/** LocalObjectReference (extensionRef, GatewayClass parametersRef): group, kind and name all required. */
export function checkLocalObjectRef(issues: Issues, path: string, ref: LocalObjectRef): void {
  checkRefFields(issues, path, ref, true);
}

/** SecretObjectReference (listener certificateRefs): name required; group "" and kind Secret by default. */
export function checkSecretRef(issues: Issues, path: string, ref: BackendObjectRef): void {
  checkRefFields(issues, path, ref, false);
}

/**
 * BackendObjectReference: name required, and the CEL rule "Must have port
 * for Service reference" (a core-group Service, the default, needs `port`).
 */
export function checkBackendObjectRef(issues: Issues, path: string, ref: BackendObjectRef): void {
  checkRefFields(issues, path, ref, false);
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  if (group === '' && kind === 'Service' && ref.port === undefined)
    issues.add(field(path, 'port'), 'port is required for a Service backend');
}

/** Checks a backendRefs list: at most 16 entries, each a BackendRef. */
export function checkBackendRefs(issues: Issues, path: string, refs: readonly BackendObjectRef[] | undefined): void {
  checkMaxItems(issues, path, refs, 16, 'backendRefs');
  refs?.forEach((r, i) => checkBackendObjectRef(issues, index(path, i), r));
}

/** The identity of a parent: group and kind defaulted as the API does, namespace "" for the route's own. */
function parentKey(p: ParentRef): string {
  return JSON.stringify([p.group ?? GATEWAY_API_GROUP, p.kind ?? 'Gateway', p.namespace ?? '', p.name ?? '']);
}

/**
 * CommonRouteSpec.parentRefs: at most 32, each with a name; and the CEL
 * rules on references to the same parent: when a route names one parent
 * more than once, every such reference must carry a sectionName or port,
 * and those must differ.
 */
export function checkParentRefs(issues: Issues, path: string, refs: readonly ParentRef[] | undefined): void {
  if (refs === undefined) return;
  checkMaxItems(issues, path, refs, 32, 'parentRefs');
  const byParent = new Map<string, number[]>();
  refs.forEach((r, i) => {
    const p = index(path, i);
    checkText(issues, field(p, 'group'), r.group, GROUP_RULE);
    checkText(issues, field(p, 'kind'), r.kind, KIND_RULE);
    checkText(issues, field(p, 'namespace'), r.namespace, NAMESPACE_RULE);
    if (requireText(issues, field(p, 'name'), r.name, 'name')) checkText(issues, field(p, 'name'), r.name, OBJECT_NAME_RULE);
    checkText(issues, field(p, 'sectionName'), r.sectionName, SECTION_NAME_RULE);
    const k = parentKey(r);
    byParent.set(k, [...(byParent.get(k) ?? []), i]);
  });
  for (const indexes of byParent.values()) {
    if (indexes.length < 2) continue;
    const seen = new Set<string>();
    for (const i of indexes) {
      const r = refs[i] ?? {};
      const p = index(path, i);
      if ((r.sectionName ?? '') === '' && r.port === undefined) {
        issues.add(
          field(p, 'sectionName'),
          'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent',
        );
        continue;
      }
      const id = `${r.sectionName ?? ''}:${r.port ?? 0}`;
      if (seen.has(id))
        issues.add(
          field(p, 'sectionName'),
          'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent',
        );
      seen.add(id);
    }
  }
}

/** Route hostnames: at most 16, each a Hostname. */
export function checkHostnames(issues: Issues, path: string, hostnames: readonly string[] | undefined): void {
  checkMaxItems(issues, path, hostnames, 16, 'hostnames');
  hostnames?.forEach((h, i) => checkText(issues, index(path, i), h, HOSTNAME_RULE));
}

// ---------- shapes shared by the route kinds ----------

export const COMMON_ROUTE_FIELDS = {
  parentRefs: arr(PARENT_REF),
} as const;

export const HTTP_HEADER: Shape = obj({ name: STRING, value: STRING });
export const HEADER_FILTER: Shape = obj({ set: arr(HTTP_HEADER), add: arr(HTTP_HEADER), remove: arr(STRING) });

export const FRACTION: Shape = obj({ numerator: INT32_NON_NEGATIVE, denominator: { t: 'int', min: 1, max: 2147483647 } });
export const MIRROR_FILTER: Shape = obj({
  backendRef: obj(BACKEND_OBJECT_REF_FIELDS),
  percent: { t: 'int', min: 0, max: 100 },
  fraction: FRACTION,
});
