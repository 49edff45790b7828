/**
 * Gateway API `Gateway` (gateway.networking.k8s.io v1, v1beta1; ConfigKind
 * `KubernetesGateway`) and `GatewayClass`, checked as the CRDs' schemas and
 * CEL rules do (apis/v1 gateway_types.go, gatewayclass_types.go). Specs are
 * stored as validated plain data.
 */
import type { L7Spec } from '../types.js';
import { ANY, STRING, STRING_MAP, arr, enumOf, field, index, key, obj, type Issues } from './shape.js';
import { checkLabels, labelKeyError } from './fields.js';
import {
  CONTROLLER_NAME_RULE,
  HOSTNAME_RULE,
  KIND_RULE,
  GROUP_RULE,
  NAMESPACE_RULE,
  OBJECT_NAME_RULE,
  PORT_NUMBER,
  SECRET_OBJECT_REF,
  SECTION_NAME_RULE,
  LOCAL_OBJECT_REF,
  checkLocalObjectRef,
  checkMaxItems,
  checkRequiredList,
  checkSecretRef,
  checkText,
  isDomainPrefixed,
  requireText,
  type BackendObjectRef,
  type LocalObjectRef,
} from './gateway-api-refs.js';
import { gatewayApiVersions, type KindValidator } from './validator.js';

/** The listener protocols the Gateway API core names; others must be tokens or domain-prefixed. */
const CORE_PROTOCOLS = ['HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP'];
/** ProtocolType: a token such as `HBONE` (Istio's waypoint listener) or a domain-prefixed name. */
const PROTOCOL_TOKEN = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const ADDRESS_TYPES = ['IPAddress', 'Hostname', 'NamedAddress'];
const MAX_LISTENERS = 64;

const GATEWAY_SPEC = obj({
  gatewayClassName: STRING,
  listeners: arr(
    obj({
      name: STRING,
      hostname: STRING,
      port: PORT_NUMBER,
      protocol: STRING,
      tls: obj({
        mode: enumOf('Terminate', 'Passthrough'),
        certificateRefs: arr(SECRET_OBJECT_REF),
        frontendValidation: ANY,
        options: STRING_MAP,
      }),
      allowedRoutes: obj({
        namespaces: obj({ from: enumOf('All', 'Selector', 'Same'), selector: ANY }),
        kinds: arr(obj({ group: STRING, kind: STRING })),
      }),
    }),
  ),
  addresses: arr(obj({ type: STRING, value: STRING })),
  infrastructure: obj({ labels: STRING_MAP, annotations: STRING_MAP, parametersRef: LOCAL_OBJECT_REF }),
  backendTLS: ANY,
  allowedListeners: ANY,
});

interface Listener {
  readonly name?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly tls?: {
    readonly mode?: string;
    readonly certificateRefs?: readonly BackendObjectRef[];
    readonly options?: Readonly<Record<string, string>>;
  };
  readonly allowedRoutes?: {
    readonly kinds?: readonly { readonly group?: string; readonly kind?: string }[];
  };
}
interface GatewaySpec {
  readonly gatewayClassName?: string;
  readonly listeners?: readonly Listener[];
  readonly addresses?: readonly { readonly type?: string; readonly value?: string }[];
  readonly infrastructure?: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly parametersRef?: LocalObjectRef;
  };
}

function checkProtocol(issues: Issues, path: string, protocol: string): void {
  if (CORE_PROTOCOLS.includes(protocol)) return;
  if (protocol.length > 255 || (!PROTOCOL_TOKEN.test(protocol) && !isDomainPrefixed(protocol))) {
    issues.add(
      path,
      `unsupported protocol ${JSON.stringify(protocol)}; expected ${CORE_PROTOCOLS.join(', ')}, a token such as HBONE, or a domain-prefixed name such as example.com/proto`,
    );
  }
}

/** One listener's own fields and its TLS rules (the CEL rules on `listeners`, per listener). */
function checkListener(issues: Issues, path: string, l: Listener): void {
  if (requireText(issues, field(path, 'name'), l.name, 'name')) checkText(issues, field(path, 'name'), l.name, SECTION_NAME_RULE);
  checkText(issues, field(path, 'hostname'), l.hostname, HOSTNAME_RULE);
  if (l.port === undefined) issues.add(field(path, 'port'), 'port is required');
  const protocol = l.protocol;
  if (requireText(issues, field(path, 'protocol'), protocol, 'protocol') && protocol !== undefined)
    checkProtocol(issues, field(path, 'protocol'), protocol);
  if ((protocol === 'TCP' || protocol === 'UDP') && (l.hostname ?? '') !== '')
    issues.add(field(path, 'hostname'), `hostname must not be specified for protocol ${protocol}`);
  if (protocol === 'HTTP' || protocol === 'TCP' || protocol === 'UDP') {
    if (l.tls !== undefined) issues.add(field(path, 'tls'), `tls must not be specified for protocol ${protocol}`);
  } else if ((protocol === 'HTTPS' || protocol === 'TLS') && l.tls === undefined) {
    issues.add(field(path, 'tls'), `tls must be specified for protocol ${protocol}`);
  }
  const tls = l.tls;
  if (tls !== undefined && protocol !== 'HTTP' && protocol !== 'TCP' && protocol !== 'UDP') {
    const tp = field(path, 'tls');
    const mode = tls.mode ?? 'Terminate';
    if (protocol === 'HTTPS' && mode !== 'Terminate') issues.add(field(tp, 'mode'), 'tls mode must be Terminate for protocol HTTPS');
    const refs = tls.certificateRefs ?? [];
    const options = Object.keys(tls.options ?? {});
    // A mistyped mode was dropped and reported; do not read its absence as the Terminate default.
    if (mode === 'Terminate' && !issues.isIncomplete(tp) && refs.length === 0 && options.length === 0)
      issues.add(field(tp, 'certificateRefs'), 'certificateRefs or options must be specified when mode is Terminate');
    checkMaxItems(issues, field(tp, 'certificateRefs'), tls.certificateRefs, 64, 'certificateRefs');
    refs.forEach((r, i) => checkSecretRef(issues, index(field(tp, 'certificateRefs'), i), r));
    if (options.length > 16) issues.add(field(tp, 'options'), `at most 16 options are allowed, found ${options.length}`);
    for (const k of options) {
      const e = labelKeyError(k);
      if (e !== undefined) issues.add(key(field(tp, 'options'), k), e);
    }
  }
  const kinds = l.allowedRoutes?.kinds;
  const kp = field(path, 'allowedRoutes.kinds');
  checkMaxItems(issues, kp, kinds, 8, 'kinds');
  kinds?.forEach((k, i) => {
    const p = index(kp, i);
    checkText(issues, field(p, 'group'), k.group, GROUP_RULE);
    if (requireText(issues, field(p, 'kind'), k.kind, 'kind')) checkText(issues, field(p, 'kind'), k.kind, KIND_RULE);
  });
}

/** The CEL rules across listeners: names unique; port, protocol and hostname unique together. */
function checkListenerSet(issues: Issues, listeners: readonly Listener[]): void {
  const names = new Set<string>();
  const combos = new Set<string>();
  listeners.forEach((l, i) => {
    const p = index('spec.listeners', i);
    if (l.name !== undefined) {
      if (names.has(l.name)) issues.add(field(p, 'name'), `listener name ${JSON.stringify(l.name)} must be unique within the Gateway`);
      names.add(l.name);
    }
    const combo = JSON.stringify([l.port, l.protocol, l.hostname ?? null]);
    if (combos.has(combo))
      issues.add(p, 'the combination of port, protocol and hostname must be unique for each listener');
    combos.add(combo);
  });
}

function checkAddresses(issues: Issues, addresses: GatewaySpec['addresses']): void {
  if (addresses === undefined) return;
  checkMaxItems(issues, 'spec.addresses', addresses, 16, 'addresses');
  const seen = new Set<string>();
  addresses.forEach((a, i) => {
    const p = index('spec.addresses', i);
    const type = a.type ?? 'IPAddress';
    if (!ADDRESS_TYPES.includes(type) && !isDomainPrefixed(type))
      issues.add(field(p, 'type'), `unsupported address type ${JSON.stringify(type)}; expected ${ADDRESS_TYPES.join(', ')} or a domain-prefixed name`);
    const value = a.value ?? '';
    checkText(issues, field(p, 'value'), a.value, { what: 'address', min: 0, max: 253 });
    if (type === 'Hostname') checkText(issues, field(p, 'value'), value, HOSTNAME_RULE);
    if (type === 'IPAddress' || type === 'Hostname') {
      const id = `${type}/${value}`;
      if (seen.has(id)) issues.add(field(p, 'value'), `${type} values must be unique`);
      seen.add(id);
    }
  });
}

function checkInfrastructure(issues: Issues, infra: NonNullable<GatewaySpec['infrastructure']>): void {
  const path = 'spec.infrastructure';
  for (const m of ['labels', 'annotations'] as const) {
    const n = Object.keys(infra[m] ?? {}).length;
    if (n > 8) issues.add(field(path, m), `at most 8 ${m} are allowed, found ${n}`);
  }
  checkLabels(issues, field(path, 'labels'), infra.labels);
  for (const k of Object.keys(infra.annotations ?? {})) {
    const e = labelKeyError(k);
    if (e !== undefined) issues.add(key(field(path, 'annotations'), k), e);
  }
  if (infra.parametersRef !== undefined) checkLocalObjectRef(issues, field(path, 'parametersRef'), infra.parametersRef);
}

export const kubernetesGatewayValidator: KindValidator<'KubernetesGateway'> = {
  kind: 'KubernetesGateway',
  apiKind: 'Gateway',
  apiVersions: gatewayApiVersions('v1', 'v1beta1'),
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: GATEWAY_SPEC, status: ANY },
  build(top, _meta, issues) {
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    const raw = top['spec'] as GatewaySpec;
    if (requireText(issues, 'spec.gatewayClassName', raw.gatewayClassName, 'gatewayClassName'))
      checkText(issues, 'spec.gatewayClassName', raw.gatewayClassName, OBJECT_NAME_RULE);
    checkRequiredList(issues, 'spec.listeners', raw.listeners, 'listeners');
    checkMaxItems(issues, 'spec.listeners', raw.listeners, MAX_LISTENERS, 'listeners');
    const listeners = raw.listeners ?? [];
    listeners.forEach((l, i) => checkListener(issues, index('spec.listeners', i), l));
    checkListenerSet(issues, listeners);
    checkAddresses(issues, raw.addresses);
    if (raw.infrastructure !== undefined) checkInfrastructure(issues, raw.infrastructure);
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};

const GATEWAY_CLASS_SPEC = obj({
  controllerName: STRING,
  parametersRef: obj({ group: STRING, kind: STRING, name: STRING, namespace: STRING }),
  description: STRING,
});

interface GatewayClassSpec {
  readonly controllerName?: string;
  readonly parametersRef?: LocalObjectRef & { readonly namespace?: string };
  readonly description?: string;
}

export const gatewayClassValidator: KindValidator<'GatewayClass'> = {
  kind: 'GatewayClass',
  apiVersions: gatewayApiVersions('v1', 'v1beta1'),
  namespaced: false,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: GATEWAY_CLASS_SPEC, status: ANY },
  build(top, _meta, issues) {
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    const raw = top['spec'] as GatewayClassSpec;
    if (requireText(issues, 'spec.controllerName', raw.controllerName, 'controllerName'))
      checkText(issues, 'spec.controllerName', raw.controllerName, CONTROLLER_NAME_RULE);
    checkText(issues, 'spec.description', raw.description, { what: 'description', min: 0, max: 64 });
    const ref = raw.parametersRef;
    if (ref !== undefined) {
      checkLocalObjectRef(issues, 'spec.parametersRef', ref);
      checkText(issues, 'spec.parametersRef.namespace', ref.namespace, NAMESPACE_RULE);
    }
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
