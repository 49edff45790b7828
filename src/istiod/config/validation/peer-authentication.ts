/**
 * Istio `PeerAuthentication` (security.istio.io): the mTLS mode of a
 * workload, namespace or mesh, with per-port exceptions that only a
 * workload-scoped policy may carry (ValidatePeerAuthentication).
 */
import type { MtlsMode, PeerAuthenticationSpec, WorkloadSelector } from '../types.js';
import { ANY, enumOf, key, map, obj, type Issues } from './shape.js';
import { checkWorkloadSelector, WORKLOAD_SELECTOR } from './policy-target.js';
import { SECURITY_VERSIONS, type KindValidator } from './validator.js';

const MTLS = obj({ mode: enumOf('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT') });

const SPEC = obj({
  selector: WORKLOAD_SELECTOR,
  mtls: MTLS,
  portLevelMtls: map(MTLS),
});

interface RawSpec {
  selector?: WorkloadSelector;
  mtls?: { mode?: MtlsMode };
  portLevelMtls?: Record<string, { mode?: MtlsMode }>;
}

function checkPortKeys(issues: Issues, ports: Readonly<Record<string, unknown>>): void {
  for (const k of Object.keys(ports)) {
    // The proto map key is a uint32: YAML gives it as text, which must be a plain decimal port.
    if (!/^[0-9]+$/.test(k) || Number(k) < 1 || Number(k) > 65535) {
      issues.add(
        key('spec.portLevelMtls', k),
        `port ${JSON.stringify(k)} must be a number in the range 1..65535`,
      );
    }
  }
}

export const peerAuthenticationValidator: KindValidator<'PeerAuthentication'> = {
  kind: 'PeerAuthentication',
  apiVersions: SECURITY_VERSIONS,
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    checkWorkloadSelector(issues, 'spec.selector', raw.selector);
    const emptySelector =
      raw.selector === undefined || Object.keys(raw.selector.matchLabels ?? {}).length === 0;
    if (raw.portLevelMtls !== undefined) {
      const n = Object.keys(raw.portLevelMtls).length;
      if (n === 0)
        issues.add('spec.portLevelMtls', 'portLevelMtls, if defined, must have at least one element');
      else if (emptySelector) {
        issues.add(
          'spec.portLevelMtls',
          'portLevelMtls requires a workload selector (mesh and namespace policies cannot have port level mTLS)',
        );
      }
      checkPortKeys(issues, raw.portLevelMtls);
    }
    const spec: PeerAuthenticationSpec = {
      ...(raw.selector !== undefined ? { selector: raw.selector } : {}),
      ...(raw.mtls !== undefined ? { mtls: raw.mtls } : {}),
      ...(raw.portLevelMtls !== undefined ? { portLevelMtls: raw.portLevelMtls } : {}),
    };
    return { spec };
  },
};
