/**
 * Istio `ServiceEntry` (networking.istio.io): hosts, addresses, ports and
 * the rules tying resolution to endpoints (ValidateServiceEntry).
 */
import type { ServiceEntryPort, ServiceEntrySpec, WorkloadEntrySpec } from '../types.js';
import {
  ANY,
  STRING,
  STRING_MAP,
  STRINGS,
  UINT32,
  arr,
  enumOf,
  field,
  index,
  key,
  obj,
  type Issues,
} from './shape.js';
import {
  checkExportTo,
  fqdnError,
  ipOrCidrError,
  isHttpProtocol,
  isTlsProtocol,
  istioPortNameError,
  istioProtocolError,
  labelKeyError,
  labelValueError,
  portError,
  wildcardDomainError,
} from './fields.js';
import { checkWorkloadEntry, WORKLOAD_ENTRY } from './workload-entry.js';
import { NETWORKING_VERSIONS, type KindValidator } from './validator.js';

const SPEC = obj({
  hosts: STRINGS,
  addresses: STRINGS,
  ports: arr(obj({ number: UINT32, protocol: STRING, name: STRING, targetPort: UINT32 })),
  location: enumOf('MESH_EXTERNAL', 'MESH_INTERNAL'),
  resolution: enumOf('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'),
  endpoints: arr(WORKLOAD_ENTRY),
  workloadSelector: obj({ labels: STRING_MAP }),
  exportTo: STRINGS,
  subjectAltNames: STRINGS,
});

interface RawSpec {
  hosts?: string[];
  addresses?: string[];
  ports?: Partial<ServiceEntryPort>[];
  location?: ServiceEntrySpec['location'];
  resolution?: ServiceEntrySpec['resolution'];
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}

function checkSelector(issues: Issues, labels: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(labels)) {
    const p = key('spec.workloadSelector.labels', k);
    if (k === '') issues.add(p, 'empty key is not supported in selector');
    else if (k.includes('*') || v.includes('*'))
      issues.add(p, `wildcard is not supported in selector: "${k}=${v}"`);
    else {
      const e = labelKeyError(k) ?? labelValueError(v);
      if (e !== undefined) issues.add(p, e);
    }
  }
}

function checkPorts(issues: Issues, ports: readonly Partial<ServiceEntryPort>[]): Set<string> {
  const names = new Set<string>();
  const numbers = new Set<number>();
  ports.forEach((p, i) => {
    const path = index('spec.ports', i);
    const name = p.name ?? '';
    if (name === '') issues.add(field(path, 'name'), 'port name is required');
    else {
      const e = istioPortNameError(name);
      if (e !== undefined) issues.add(field(path, 'name'), e);
      if (names.has(name))
        issues.add(field(path, 'name'), `service entry port name ${JSON.stringify(name)} already defined`);
    }
    names.add(name);
    if (p.number === undefined) issues.add(field(path, 'number'), 'port number is required');
    else {
      const e = portError(p.number);
      if (e !== undefined) issues.add(field(path, 'number'), e);
      if (numbers.has(p.number))
        issues.add(field(path, 'number'), `service entry port ${p.number} already defined`);
      numbers.add(p.number);
    }
    if (p.targetPort !== undefined && p.targetPort !== 0) {
      const e = portError(p.targetPort);
      if (e !== undefined) issues.add(field(path, 'targetPort'), e);
    }
    if (p.protocol !== undefined && p.protocol !== '') {
      const e = istioProtocolError(p.protocol);
      if (e !== undefined) issues.add(field(path, 'protocol'), e);
    }
  });
  return names;
}

export const serviceEntryValidator: KindValidator<'ServiceEntry'> = {
  kind: 'ServiceEntry',
  apiVersions: NETWORKING_VERSIONS,
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: { hosts: [] } };
    }
    const resolution = raw.resolution ?? 'NONE';
    const hosts = raw.hosts ?? [];
    if (raw.workloadSelector !== undefined) checkSelector(issues, raw.workloadSelector.labels ?? {});
    if (raw.workloadSelector !== undefined && raw.endpoints !== undefined) {
      issues.add('spec.workloadSelector', 'only one of workloadSelector or endpoints is allowed');
    }
    if (hosts.length === 0) issues.add('spec.hosts', 'service entry must have at least one host');
    hosts.forEach((h, i) => {
      const e = h === '*' ? `invalid host ${h}` : wildcardDomainError(h);
      if (e !== undefined) issues.add(index('spec.hosts', i), e);
    });
    (raw.addresses ?? []).forEach((a, i) => {
      const p = index('spec.addresses', i);
      const e = ipOrCidrError(a);
      if (e !== undefined) issues.add(p, e);
      else if (a.includes('/') && resolution !== 'NONE' && resolution !== 'STATIC') {
        issues.add(p, `CIDR addresses are allowed only for NONE/STATIC resolution types, not ${resolution}`);
      }
    });
    const ports = raw.ports ?? [];
    const portNames = checkPorts(issues, ports);
    const endpoints = raw.endpoints ?? [];
    switch (resolution) {
      case 'NONE':
        if (endpoints.length > 0)
          issues.add('spec.endpoints', 'no endpoints should be provided for resolution type NONE');
        break;
      case 'STATIC':
        endpoints.forEach((ep, i) => {
          checkWorkloadEntry(issues, index('spec.endpoints', i), ep, {
            servicePorts: portNames,
            allowHostname: false,
          });
        });
        break;
      case 'DNS':
      case 'DNS_ROUND_ROBIN':
        if (endpoints.length === 0) {
          hosts.forEach((h, i) => {
            if (h !== '*' && wildcardDomainError(h) === undefined && fqdnError(h) !== undefined) {
              issues.add(
                index('spec.hosts', i),
                `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`,
              );
            }
          });
        }
        if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
          issues.add(
            'spec.endpoints',
            `there must only be 0 or 1 endpoint for resolution mode ${resolution}`,
          );
        }
        endpoints.forEach((ep, i) => {
          checkWorkloadEntry(issues, index('spec.endpoints', i), ep, {
            servicePorts: portNames,
            allowHostname: true,
          });
        });
        break;
    }
    if (resolution !== 'NONE' && hosts.length > 1) {
      const i = ports.findIndex((p) => !isHttpProtocol(p.protocol ?? '') && !isTlsProtocol(p.protocol ?? ''));
      if (i >= 0)
        issues.add(
          field(index('spec.ports', i), 'protocol'),
          'multiple hosts provided with non-HTTP, non-TLS ports',
        );
    }
    checkExportTo(issues, 'spec.exportTo', raw.exportTo, true);
    const spec: ServiceEntrySpec = {
      hosts,
      ...(raw.addresses !== undefined ? { addresses: raw.addresses } : {}),
      ...(raw.ports !== undefined ? { ports: raw.ports as ServiceEntryPort[] } : {}),
      ...(raw.location !== undefined ? { location: raw.location } : {}),
      ...(raw.resolution !== undefined ? { resolution: raw.resolution } : {}),
      ...(raw.endpoints !== undefined ? { endpoints: raw.endpoints } : {}),
      ...(raw.workloadSelector !== undefined
        ? { workloadSelector: { labels: raw.workloadSelector.labels ?? {} } }
        : {}),
      ...(raw.exportTo !== undefined ? { exportTo: raw.exportTo } : {}),
      ...(raw.subjectAltNames !== undefined ? { subjectAltNames: raw.subjectAltNames } : {}),
    };
    return { spec };
  },
};
