/**
 * Istio `AuthorizationPolicy` (security.istio.io), checked as Istio's
 * webhook does (ValidateAuthorizationPolicy and pkg/config/security), plus
 * the CRD rule that serviceAccounts excludes namespaces and principals.
 */
import type {
  AuthorizationPolicySpec,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  PolicyTargetReference,
  WorkloadSelector,
} from '../types.js';
import { ANY, STRING, STRINGS, arr, enumOf, field, index, obj, type Issues } from './shape.js';
import { ipOrCidrError, portStringError } from './fields.js';
import { checkPolicyTarget, TARGET_REF, TARGET_REFS, WORKLOAD_SELECTOR } from './policy-target.js';
import { SECURITY_VERSIONS, type KindValidator } from './validator.js';

const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
  'serviceAccounts',
  'notServiceAccounts',
] as const;

const OPERATION_FIELDS = [
  'hosts',
  'notHosts',
  'ports',
  'notPorts',
  'methods',
  'notMethods',
  'paths',
  'notPaths',
] as const;

const SOURCE = obj(Object.fromEntries(SOURCE_FIELDS.map((f) => [f, STRINGS])));
const OPERATION = obj(Object.fromEntries(OPERATION_FIELDS.map((f) => [f, STRINGS])));

const SPEC = obj({
  selector: WORKLOAD_SELECTOR,
  targetRef: TARGET_REF,
  targetRefs: TARGET_REFS,
  action: enumOf('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
  provider: obj({ name: STRING }),
  rules: arr(
    obj({
      from: arr(obj({ source: SOURCE })),
      to: arr(obj({ operation: OPERATION })),
      when: arr(obj({ key: STRING, values: STRINGS, notValues: STRINGS })),
    }),
  ),
});

interface RawSpec {
  selector?: WorkloadSelector;
  targetRef?: Partial<PolicyTargetReference>;
  targetRefs?: Partial<PolicyTargetReference>[];
  action?: AuthorizationPolicySpec['action'];
  provider?: { name?: string };
  rules?: {
    from?: { source?: AuthzSource }[];
    to?: { operation?: AuthzOperation }[];
    when?: Partial<AuthzCondition>[];
  }[];
}

/** Condition keys Istio knows that take a `[name]` suffix. */
const MAP_KEY_PREFIXES = ['request.headers', 'request.auth.claims', 'experimental.envoy.filters.'];
const IP_KEYS = new Set(['source.ip', 'remote.ip', 'destination.ip']);
const PLAIN_KEYS = new Set([
  'source.namespace',
  'source.principal',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'connection.sni',
  'destination.port',
  ...IP_KEYS,
]);

/** Keys CUSTOM policies cannot use (the external authorizer sees no peer identity yet). */
function customUnsupportedKey(k: string): boolean {
  return k === 'source.namespace' || k === 'source.principal' || k.startsWith('request.auth.');
}

/** Why a `when` key is not accepted, or undefined when it is. */
function conditionKeyError(k: string): string | undefined {
  if (PLAIN_KEYS.has(k)) return undefined;
  for (const prefix of MAP_KEY_PREFIXES) {
    if (k.startsWith(prefix)) {
      const open = k.indexOf('[');
      if (k.endsWith(']') && open > 0 && open < k.length - 2) return undefined;
      return `bad key ${JSON.stringify(k)}: should have format a[b]`;
    }
  }
  if (k === 'destination.namespace') return `attribute ${k} is replaced by the metadata.namespace`;
  if (k.startsWith('destination.labels')) return `attribute ${k} is replaced by the workload selector`;
  if (k === 'destination.name' || k === 'destination.user')
    return `deprecated attribute ${k}: only supported in v1alpha1`;
  return `unknown attribute: ${k}`;
}

/** Principals and namespaces match exactly, by prefix (`x*`), by suffix (`*x`) or by presence (`*`). */
function wildcardError(v: string): string | undefined {
  const stars = v.split('*').length - 1;
  if (stars === 0 || v === '*') return undefined;
  if (stars === 1 && (v.startsWith('*') || v.endsWith('*'))) return undefined;
  return `${JSON.stringify(v)}: wildcard "*" is only allowed as a prefix or a suffix`;
}

const WILDCARD_FIELDS = new Set([
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
]);
const IP_FIELDS = new Set(['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']);
/** Source fields an external (CUSTOM) authorizer cannot be given. */
const CUSTOM_UNSUPPORTED_SOURCE = new Set([
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
]);

function checkSource(issues: Issues, path: string, src: AuthzSource, action: string): void {
  const record = src as Readonly<Record<string, readonly string[] | undefined>>;
  if (SOURCE_FIELDS.every((f) => (record[f]?.length ?? 0) === 0) && !issues.isIncomplete(path)) {
    issues.add(path, 'source must not be empty');
  }
  for (const f of SOURCE_FIELDS) {
    const values = record[f];
    if (values === undefined) continue;
    const fp = field(path, f);
    if (action === 'CUSTOM' && CUSTOM_UNSUPPORTED_SOURCE.has(f) && values.length > 0) {
      issues.add(fp, `${f} is currently not supported with CUSTOM action`);
    }
    values.forEach((v, i) => {
      const vp = index(fp, i);
      if (v === '') {
        issues.add(vp, `empty value not allowed in ${f}`);
        return;
      }
      const e = IP_FIELDS.has(f) ? ipOrCidrError(v) : WILDCARD_FIELDS.has(f) ? wildcardError(v) : undefined;
      if (e !== undefined) issues.add(vp, e);
    });
  }
  if ((src.serviceAccounts?.length ?? 0) > 0 || (src.notServiceAccounts?.length ?? 0) > 0) {
    if (
      (src.namespaces?.length ?? 0) > 0 ||
      (src.principals?.length ?? 0) > 0 ||
      (src.notNamespaces?.length ?? 0) > 0 ||
      (src.notPrincipals?.length ?? 0) > 0
    ) {
      issues.add(
        field(path, (src.serviceAccounts?.length ?? 0) > 0 ? 'serviceAccounts' : 'notServiceAccounts'),
        'cannot set serviceAccounts with namespaces or principals',
      );
    }
  }
}

/** Istio path templates: `{*}` and `{**}` only, as whole segments. */
function pathTemplateError(p: string): string | undefined {
  if (!p.includes('{*}') && !p.includes('{**}')) return undefined;
  if (/\/\{\w+=\*\*?\}|\{\w*\}|\/\*\*?|\*\*?\//.test(p))
    return `invalid or unsupported path template ${JSON.stringify(p)}`;
  return undefined;
}

function checkOperation(issues: Issues, path: string, op: AuthzOperation): void {
  const record = op as Readonly<Record<string, readonly string[] | undefined>>;
  if (OPERATION_FIELDS.every((f) => (record[f]?.length ?? 0) === 0) && !issues.isIncomplete(path)) {
    issues.add(path, 'operation must not be empty');
  }
  for (const f of OPERATION_FIELDS) {
    const values = record[f];
    if (values === undefined) continue;
    values.forEach((v, i) => {
      const vp = index(field(path, f), i);
      if (v === '') {
        issues.add(vp, `empty value not allowed in ${f}`);
        return;
      }
      const e =
        f === 'ports' || f === 'notPorts'
          ? portStringError(v)
          : f === 'paths' || f === 'notPaths'
            ? pathTemplateError(v)
            : undefined;
      if (e !== undefined) issues.add(vp, e);
    });
  }
}

function checkCondition(issues: Issues, path: string, c: Partial<AuthzCondition>, action: string): void {
  const k = c.key ?? '';
  if (k === '') {
    issues.add(field(path, 'key'), 'key is required');
    return;
  }
  if ((c.values?.length ?? 0) === 0 && (c.notValues?.length ?? 0) === 0) {
    issues.add(path, `at least one of values or notValues must be set for key ${k}`);
    return;
  }
  const ke = conditionKeyError(k);
  if (ke !== undefined) {
    issues.add(field(path, 'key'), ke);
    return;
  }
  if (action === 'CUSTOM' && customUnsupportedKey(k)) {
    issues.add(field(path, 'key'), `${k} is currently not supported with CUSTOM action`);
  }
  for (const list of ['values', 'notValues'] as const) {
    c[list]?.forEach((v, i) => {
      const vp = index(field(path, list), i);
      if (v === '') issues.add(vp, `empty value not allowed for key ${k}`);
      else if (IP_KEYS.has(k)) {
        const e = ipOrCidrError(v);
        if (e !== undefined) issues.add(vp, e);
      } else if (k === 'destination.port') {
        const e = portStringError(v);
        if (e !== undefined) issues.add(vp, e);
      }
    });
  }
}

function buildRule(
  issues: Issues,
  path: string,
  rule: NonNullable<RawSpec['rules']>[number],
  action: string,
): AuthzRule {
  if (rule.from !== undefined && rule.from.length === 0)
    issues.add(field(path, 'from'), 'from must not be empty');
  const from = rule.from?.map((f, i) => {
    const p = field(index(field(path, 'from'), i), 'source');
    if (f.source === undefined) issues.add(p, 'source is required');
    else checkSource(issues, p, f.source, action);
    return { source: f.source ?? {} };
  });
  if (rule.to !== undefined && rule.to.length === 0) issues.add(field(path, 'to'), 'to must not be empty');
  const to = rule.to?.map((t, i) => {
    const p = field(index(field(path, 'to'), i), 'operation');
    if (t.operation === undefined) issues.add(p, 'operation is required');
    else checkOperation(issues, p, t.operation);
    return { operation: t.operation ?? {} };
  });
  const when = rule.when?.map((c, i) => {
    checkCondition(issues, index(field(path, 'when'), i), c, action);
    return {
      key: c.key ?? '',
      ...(c.values !== undefined ? { values: c.values } : {}),
      ...(c.notValues !== undefined ? { notValues: c.notValues } : {}),
    };
  });
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(when !== undefined ? { when } : {}),
  };
}

export const authorizationPolicyValidator: KindValidator<'AuthorizationPolicy'> = {
  kind: 'AuthorizationPolicy',
  apiVersions: SECURITY_VERSIONS,
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    const action = raw.action ?? 'ALLOW';
    checkPolicyTarget(issues, raw);
    if (action === 'CUSTOM') {
      if (raw.rules === undefined) {
        issues.add(
          'spec.rules',
          'CUSTOM action without rules is meaningless as it will never be triggered; add an empty rule {} to trigger it for every request',
        );
      } else if (raw.provider?.name === undefined || raw.provider.name === '') {
        issues.add(
          raw.provider === undefined ? 'spec.provider' : 'spec.provider.name',
          'provider.name is required with CUSTOM action',
        );
      }
    } else if (raw.provider !== undefined) {
      issues.add('spec.provider', `provider must not be set with non CUSTOM action, found ${action}`);
    }
    if (action === 'DENY' && raw.rules === undefined) {
      issues.add(
        'spec.rules',
        'DENY action without rules is meaningless as it will never be triggered; add an empty rule {} to trigger it for every request',
      );
    }
    const rules = raw.rules?.map((r, i) => buildRule(issues, index('spec.rules', i), r, action));
    const spec: AuthorizationPolicySpec = {
      ...(raw.selector !== undefined ? { selector: raw.selector } : {}),
      ...(raw.targetRef !== undefined ? { targetRef: raw.targetRef as PolicyTargetReference } : {}),
      ...(raw.targetRefs !== undefined ? { targetRefs: raw.targetRefs as PolicyTargetReference[] } : {}),
      ...(rules !== undefined ? { rules } : {}),
      ...(raw.action !== undefined ? { action: raw.action } : {}),
      ...(raw.provider !== undefined ? { provider: { name: raw.provider.name ?? '' } } : {}),
    };
    return { spec };
  },
};
