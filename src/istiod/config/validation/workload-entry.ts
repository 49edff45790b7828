/**
 * Istio `WorkloadEntry` (networking.istio.io), and the endpoint checks a
 * ServiceEntry reuses for its inline endpoints (validateWorkloadEntry).
 */
import type { WorkloadEntrySpec } from '../types.js';
import { ANY, STRING, STRING_MAP, UINT32, field, key, map, obj, type Issues, type Shape } from './shape.js';
import {
  checkLabels,
  dns1123SubdomainError,
  fqdnError,
  ipError,
  istioPortNameError,
  portError,
} from './fields.js';
import { NETWORKING_VERSIONS, type KindValidator } from './validator.js';

export const WORKLOAD_ENTRY: Shape = obj({
  address: STRING,
  ports: map(UINT32),
  labels: STRING_MAP,
  network: STRING,
  locality: STRING,
  weight: UINT32,
  serviceAccount: STRING,
});

const UNIX_PREFIX = 'unix://';

export interface EndpointRules {
  /** Names of the enclosing ServiceEntry's ports; endpoint ports must be among them. */
  readonly servicePorts?: ReadonlySet<string>;
  /** Whether the address may be a host name (DNS resolution) rather than an IP. */
  readonly allowHostname: boolean;
}

/** Checks one workload entry (or ServiceEntry endpoint) whose fields are at `path`. */
export function checkWorkloadEntry(
  issues: Issues,
  path: string,
  we: WorkloadEntrySpec,
  rules: EndpointRules,
): void {
  const addr = we.address ?? '';
  if (addr === '') {
    if (we.network === undefined || we.network === '')
      issues.add(field(path, 'address'), 'address is required (unless network is set)');
  } else if (addr.startsWith(UNIX_PREFIX)) {
    const socket = addr.slice(UNIX_PREFIX.length);
    if (socket === '') issues.add(field(path, 'address'), 'unix address must not be empty');
    else if (!socket.startsWith('@') && (!socket.startsWith('/') || socket.endsWith('/'))) {
      issues.add(field(path, 'address'), `${JSON.stringify(socket)} is not an absolute path to a file`);
    }
    if (we.ports !== undefined && Object.keys(we.ports).length > 0) {
      issues.add(field(path, 'ports'), `unix endpoint ${addr} must not include ports`);
    }
  } else if (ipError(addr) !== undefined) {
    if (!rules.allowHostname)
      issues.add(
        field(path, 'address'),
        `endpoint address ${JSON.stringify(addr)} is not a valid IP address`,
      );
    else if (fqdnError(addr) !== undefined) {
      issues.add(
        field(path, 'address'),
        `endpoint address ${JSON.stringify(addr)} is not a valid FQDN or an IP address`,
      );
    }
  }
  for (const [name, port] of Object.entries(we.ports ?? {})) {
    const p = key(field(path, 'ports'), name);
    if (rules.servicePorts !== undefined && !rules.servicePorts.has(name)) {
      issues.add(p, `endpoint port ${JSON.stringify(name)} is not defined by the service entry`);
    }
    const ne = istioPortNameError(name);
    if (ne !== undefined) issues.add(p, ne);
    const pe = portError(port);
    if (pe !== undefined) issues.add(p, pe);
  }
  checkLabels(issues, field(path, 'labels'), we.labels);
  if (we.serviceAccount !== undefined && we.serviceAccount !== '') {
    const e = dns1123SubdomainError(we.serviceAccount);
    if (e !== undefined) issues.add(field(path, 'serviceAccount'), e);
  }
}

export const workloadEntryValidator: KindValidator<'WorkloadEntry'> = {
  kind: 'WorkloadEntry',
  apiVersions: NETWORKING_VERSIONS,
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: WORKLOAD_ENTRY, status: ANY },
  build(top, _meta, issues) {
    const spec = (top['spec'] ?? {}) as WorkloadEntrySpec;
    if (top['spec'] === undefined) issues.add('spec', 'spec is required');
    else checkWorkloadEntry(issues, 'spec', spec, { allowHostname: true });
    return { spec };
  },
};
