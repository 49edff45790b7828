/**
 * Gateway API `GRPCRoute` (gateway.networking.k8s.io v1; v1alpha2 in older
 * releases): method and header matches, filters and backends, checked as the
 * CRD's schema and CEL rules do (apis/v1 grpcroute_types.go). The spec is
 * stored as validated plain data.
 */
import type { L7Spec } from '../types.js';
import { ANY, STRING, STRINGS, arr, enumOf, field, index, obj, type Issues } from './shape.js';
import {
  BACKEND_OBJECT_REF_FIELDS,
  COMMON_ROUTE_FIELDS,
  HEADER_FILTER,
  LOCAL_OBJECT_REF,
  MIRROR_FILTER,
  SECTION_NAME_RULE,
  WEIGHT,
  checkBackendObjectRef,
  checkHostnames,
  checkMaxItems,
  checkParentRefs,
  checkText,
  type BackendObjectRef,
  type ParentRef,
} from './gateway-api-refs.js';
import {
  checkFilterList,
  checkFilterShape,
  checkNameValueMatches,
  type CommonFilter,
  type NameValueMatch,
} from './gateway-api-filters.js';
import { checkRuleList } from './gateway-api-http-route.js';
import { gatewayApiVersions, type KindValidator } from './validator.js';

const GRPC_FILTER = obj({
  type: enumOf('RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef'),
  requestHeaderModifier: HEADER_FILTER,
  responseHeaderModifier: HEADER_FILTER,
  requestMirror: MIRROR_FILTER,
  extensionRef: LOCAL_OBJECT_REF,
});

const SPEC = obj({
  ...COMMON_ROUTE_FIELDS,
  hostnames: STRINGS,
  rules: arr(
    obj({
      name: STRING,
      matches: arr(
        obj({
          method: obj({ type: enumOf('Exact', 'RegularExpression'), service: STRING, method: STRING }),
          headers: arr(obj({ type: enumOf('Exact', 'RegularExpression'), name: STRING, value: STRING })),
        }),
      ),
      filters: arr(GRPC_FILTER),
      backendRefs: arr(obj({ ...BACKEND_OBJECT_REF_FIELDS, weight: WEIGHT, filters: arr(GRPC_FILTER) })),
      sessionPersistence: ANY,
    }),
  ),
});

interface GrpcMatch {
  readonly method?: { readonly type?: string; readonly service?: string; readonly method?: string };
  readonly headers?: readonly NameValueMatch[];
}
interface GrpcRule {
  readonly name?: string;
  readonly matches?: readonly GrpcMatch[];
  readonly filters?: readonly CommonFilter[];
  readonly backendRefs?: readonly (BackendObjectRef & { readonly filters?: readonly CommonFilter[] })[];
}
interface RawSpec {
  readonly parentRefs?: readonly ParentRef[];
  readonly hostnames?: readonly string[];
  readonly rules?: readonly GrpcRule[];
}

const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
};
const UNIQUE_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier'];

/** The CRD's patterns for an Exact service (`pkg.Service`, case-insensitive) and method. */
const SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

function checkMethodMatch(issues: Issues, path: string, m: NonNullable<GrpcMatch['method']>): void {
  if (m.service === undefined && m.method === undefined) {
    issues.add(path, "one or both of 'service' or 'method' must be specified");
    return;
  }
  checkText(issues, field(path, 'service'), m.service, { what: 'service', min: 0, max: 1024 });
  checkText(issues, field(path, 'method'), m.method, { what: 'method', min: 0, max: 1024 });
  if ((m.type ?? 'Exact') !== 'Exact') return;
  if (m.service !== undefined && m.service.length <= 1024 && !SERVICE.test(m.service))
    issues.add(field(path, 'service'), `${JSON.stringify(m.service)} is not a valid gRPC service name`);
  if (m.method !== undefined && m.method.length <= 1024 && !METHOD.test(m.method))
    issues.add(field(path, 'method'), `${JSON.stringify(m.method)} is not a valid gRPC method name`);
}

function checkFilters(issues: Issues, path: string, filters: readonly CommonFilter[] | undefined): void {
  if (filters === undefined) return;
  filters.forEach((f, i) => checkFilterShape(issues, index(path, i), f as CommonFilter & Readonly<Record<string, unknown>>, FILTER_FIELDS));
  checkFilterList(issues, path, filters, UNIQUE_FILTERS);
}

function checkRule(issues: Issues, path: string, r: GrpcRule): void {
  checkText(issues, field(path, 'name'), r.name, SECTION_NAME_RULE);
  const mp = field(path, 'matches');
  checkMaxItems(issues, mp, r.matches, 64, 'matches');
  r.matches?.forEach((m, i) => {
    const p = index(mp, i);
    if (m.method !== undefined) checkMethodMatch(issues, field(p, 'method'), m.method);
    checkNameValueMatches(issues, field(p, 'headers'), m.headers, { maxValue: 4096, caseInsensitive: true });
  });
  checkFilters(issues, field(path, 'filters'), r.filters);
  const bp = field(path, 'backendRefs');
  checkMaxItems(issues, bp, r.backendRefs, 16, 'backendRefs');
  r.backendRefs?.forEach((b, i) => {
    checkBackendObjectRef(issues, index(bp, i), b);
    checkFilters(issues, field(index(bp, i), 'filters'), b.filters);
  });
}

export const grpcRouteValidator: KindValidator<'GRPCRoute'> = {
  kind: 'GRPCRoute',
  apiVersions: gatewayApiVersions('v1', 'v1alpha2'),
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    checkParentRefs(issues, 'spec.parentRefs', raw.parentRefs);
    checkHostnames(issues, 'spec.hostnames', raw.hostnames);
    checkRuleList(issues, 'spec.rules', raw.rules);
    raw.rules?.forEach((r, i) => checkRule(issues, index('spec.rules', i), r));
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
