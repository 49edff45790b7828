/**
 * PeerAuthentication for ambient. The node agent has no PeerAuthentication
 * notion, so istiod expresses STRICT as DENY policies: one static policy
 * (`<root>/istio_converted_static_strict`, deny connections without a peer
 * identity) listed on every workload whose effective mode is STRICT, and one
 * converted policy per workload-selector PeerAuthentication whose port-level
 * modes differ from the effective mode.
 */
import { create } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import {
  Action,
  AuthorizationSchema,
  GroupSchema,
  MatchSchema,
  RulesSchema,
  Scope,
  StringMatchSchema,
  type Authorization,
  type Group,
  type Rules,
} from '../../gen/istio/security/authorization_pb.js';
import type { ConfigObject, MtlsMode } from '../config/types.js';
import { createdMs } from './services.js';

export const STATIC_STRICT_POLICY_NAME = 'istio_converted_static_strict';
export const CONVERTED_PEER_AUTHENTICATION_PREFIX = 'converted_peer_authentication_';

type PeerAuthentication = ConfigObject<'PeerAuthentication'>;

function notPrincipalPresence(destinationPorts: number[] = []): Rules {
  return create(RulesSchema, {
    matches: [
      create(MatchSchema, {
        notPrincipals: [
          create(StringMatchSchema, { matchType: { case: 'presence', value: create(EmptySchema) } }),
        ],
        destinationPorts,
      }),
    ],
  });
}

/** The static STRICT policy, published whenever any PeerAuthentication exists. */
export function staticStrictPolicy(rootNamespace: string): Authorization {
  return create(AuthorizationSchema, {
    name: STATIC_STRICT_POLICY_NAME,
    namespace: rootNamespace,
    scope: Scope.WORKLOAD_SELECTOR,
    action: Action.DENY,
    groups: [create(GroupSchema, { rules: [notPrincipalPresence()] })],
  });
}

export function convertedPolicyName(paName: string): string {
  return `${CONVERTED_PEER_AUTHENTICATION_PREFIX}${paName}`;
}

const modeOf = (m: { readonly mode?: MtlsMode } | undefined): MtlsMode => m?.mode ?? 'UNSET';
const isStrict = (m: { readonly mode?: MtlsMode } | undefined): boolean => modeOf(m) === 'STRICT';
const isUnset = (m: { readonly mode?: MtlsMode } | undefined): boolean => modeOf(m) === 'UNSET';
const isLoose = (m: { readonly mode?: MtlsMode } | undefined): boolean =>
  modeOf(m) === 'PERMISSIVE' || modeOf(m) === 'DISABLE';

function hasSelector(pa: PeerAuthentication): boolean {
  const labels = pa.spec.selector?.matchLabels;
  return labels !== undefined && Object.keys(labels).length > 0;
}

/** The oldest of several policies (ties by name, for a stable answer). */
export function oldest(policies: Iterable<PeerAuthentication>): PeerAuthentication | undefined {
  let best: PeerAuthentication | undefined;
  for (const p of policies) {
    if (best === undefined) {
      best = p;
      continue;
    }
    const a = createdMs(p.metadata.creationTimestamp);
    const b = createdMs(best.metadata.creationTimestamp);
    if (a < b || (a === b && p.metadata.name < best.metadata.name)) best = p;
  }
  return best;
}

function portEntries(pa: PeerAuthentication): [number, { readonly mode?: MtlsMode }][] {
  return Object.entries(pa.spec.portLevelMtls ?? {})
    .map(([port, m]): [number, { readonly mode?: MtlsMode }] => [Number(port), m])
    .sort((a, b) => a[0] - b[0]);
}

/**
 * The policy keys a workload lists for its effective PeerAuthentication.
 * `applicable` are the policies that apply to it: selector-less ones in the
 * root namespace, and those in its own namespace with no selector or a
 * selector matching its labels. Precedence: workload > namespace > mesh,
 * oldest first among equals.
 */
export function peerAuthenticationKeys(
  rootNamespace: string,
  applicable: readonly PeerAuthentication[],
): string[] {
  const mesh = oldest(applicable.filter((p) => !hasSelector(p) && p.metadata.namespace === rootNamespace));
  const ns = oldest(applicable.filter((p) => !hasSelector(p) && p.metadata.namespace !== rootNamespace));
  const workload = oldest(applicable.filter((p) => hasSelector(p) && p.metadata.namespace !== rootNamespace));

  let strict = false;
  let portLevelKey: string | undefined;
  if (mesh !== undefined) strict = isStrict(mesh.spec.mtls);
  if (ns !== undefined && !isUnset(ns.spec.mtls)) strict = isStrict(ns.spec.mtls);
  if (workload !== undefined) {
    const spec = workload.spec;
    const key = `${workload.metadata.namespace}/${convertedPolicyName(workload.metadata.name)}`;
    if (isStrict(spec.mtls)) strict = true;
    if (isLoose(spec.mtls)) strict = false;
    const levels = portEntries(workload).map(([, m]) => m);
    if (spec.portLevelMtls !== undefined) {
      const mode = modeOf(spec.mtls);
      if (mode === 'STRICT') {
        if (levels.some(isLoose)) {
          // The converted policy carries the STRICT default plus the port exceptions.
          portLevelKey = key;
          strict = false;
        }
      } else if (mode === 'PERMISSIVE' || mode === 'DISABLE') {
        if (levels.some(isStrict)) portLevelKey = key;
      } else if (strict) {
        if (levels.some((m) => modeOf(m) === 'PERMISSIVE')) {
          portLevelKey = key;
          strict = false;
        }
      } else if (levels.some(isStrict)) {
        portLevelKey = key;
      }
    }
  }
  const keys = new Set<string>();
  if (strict) keys.add(`${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`);
  if (portLevelKey !== undefined) keys.add(portLevelKey);
  return [...keys].sort();
}

/**
 * The converted DENY policy of a workload-selector PeerAuthentication with
 * port-level modes, given the effective namespace and mesh policies; undefined
 * when the port levels change nothing (the static STRICT policy covers it).
 */
export function convertPeerAuthentication(
  rootNamespace: string,
  pa: PeerAuthentication,
  namespacePolicy: PeerAuthentication | undefined,
  meshPolicy: PeerAuthentication | undefined,
): Authorization | undefined {
  const spec = pa.spec;
  const entries = portEntries(pa);
  if (pa.metadata.namespace === rootNamespace || spec.selector === undefined || entries.length === 0)
    return undefined;
  const mode = modeOf(spec.mtls);
  const rules: Rules[] = [];
  const groups: Group[] = [];
  if (mode === 'STRICT') rules.push(notPrincipalPresence());

  const nsMtls = namespacePolicy?.spec.mtls;
  const meshMtls = meshPolicy?.spec.mtls;
  let foundLoosePort = false;
  for (const [port, m] of entries) {
    const portMode = modeOf(m);
    if (portMode === 'STRICT') {
      const inherited =
        mode === 'STRICT' ||
        (mode === 'UNSET' && namespacePolicy !== undefined && isStrict(nsMtls)) ||
        ((namespacePolicy === undefined || isUnset(nsMtls)) &&
          meshPolicy !== undefined &&
          isStrict(meshMtls));
      // Already enforced by the parent STRICT policy.
      if (inherited) continue;
      // Groups are OR-ed: one per STRICT port.
      groups.push(create(GroupSchema, { rules: [notPrincipalPresence([port])] }));
    } else if (portMode === 'PERMISSIVE' || portMode === 'DISABLE') {
      if (mode === 'PERMISSIVE' || mode === 'DISABLE') continue;
      if (
        mode === 'UNSET' &&
        ((namespacePolicy !== undefined && !isStrict(nsMtls)) ||
          (namespacePolicy === undefined && meshPolicy !== undefined && !isStrict(meshMtls)) ||
          (namespacePolicy === undefined && meshPolicy === undefined))
      ) {
        continue;
      }
      foundLoosePort = true;
      // Deny unless the connection is to this exempt port.
      rules.push(create(RulesSchema, { matches: [create(MatchSchema, { notDestinationPorts: [port] })] }));
    }
  }
  if (mode === 'STRICT' && !foundLoosePort) return undefined;
  if (rules.length === 0 && groups.length === 0) return undefined;

  const mergeStrict =
    (meshPolicy !== undefined &&
      isStrict(meshMtls) &&
      (namespacePolicy === undefined || isUnset(nsMtls) || isStrict(nsMtls))) ||
    (namespacePolicy !== undefined && isStrict(nsMtls));
  if (mergeStrict && foundLoosePort) rules.push(notPrincipalPresence());
  if (rules.length > 0) groups.push(create(GroupSchema, { rules }));
  return create(AuthorizationSchema, {
    name: convertedPolicyName(pa.metadata.name),
    namespace: pa.metadata.namespace,
    scope: Scope.WORKLOAD_SELECTOR,
    action: Action.DENY,
    groups,
  });
}
