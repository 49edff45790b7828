/**
 * Kubernetes `Service` (v1), with the API server's rules for the fields the
 * mesh reads: ports, selector, clusterIP(s), type, externalName.
 */
import type { ServicePort, ServiceSpec } from '../types.js';
import {
  ANY,
  BOOL,
  INT32,
  INT_OR_STRING,
  STRING,
  STRING_MAP,
  STRINGS,
  arr,
  enumOf,
  field,
  index,
  obj,
  type Issues,
} from './shape.js';
import {
  checkLabels,
  checkPort,
  dns1123LabelError,
  dns1123SubdomainError,
  ianaSvcNameError,
  ipError,
  portError,
} from './fields.js';
import type { KindValidator } from './validator.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

const SERVICE_PORT = obj({
  name: STRING,
  protocol: enumOf(...PROTOCOLS),
  port: INT32,
  targetPort: INT_OR_STRING,
  appProtocol: STRING,
  nodePort: INT32,
});

const SERVICE_SPEC = obj({
  type: enumOf(...TYPES),
  clusterIP: STRING,
  clusterIPs: STRINGS,
  selector: STRING_MAP,
  ports: arr(SERVICE_PORT),
  externalName: STRING,
  ipFamilies: arr(enumOf('IPv4', 'IPv6')),
  ipFamilyPolicy: enumOf('SingleStack', 'PreferDualStack', 'RequireDualStack'),
  sessionAffinity: enumOf('ClientIP', 'None'),
  sessionAffinityConfig: ANY,
  externalIPs: STRINGS,
  loadBalancerIP: STRING,
  loadBalancerSourceRanges: STRINGS,
  loadBalancerClass: STRING,
  externalTrafficPolicy: enumOf('Cluster', 'Local'),
  internalTrafficPolicy: enumOf('Cluster', 'Local'),
  healthCheckNodePort: INT32,
  publishNotReadyAddresses: BOOL,
  allocateLoadBalancerNodePorts: BOOL,
  trafficDistribution: STRING,
});

interface RawPort {
  name?: string;
  protocol?: ServicePort['protocol'];
  port?: number;
  targetPort?: number | string;
  appProtocol?: string;
  nodePort?: number;
}

interface RawSpec {
  type?: ServiceSpec['type'];
  clusterIP?: string;
  clusterIPs?: string[];
  selector?: Record<string, string>;
  ports?: RawPort[];
  externalName?: string;
  ipFamilies?: ('IPv4' | 'IPv6')[];
  externalIPs?: string[];
}

function checkClusterIP(issues: Issues, path: string, ip: string): void {
  if (ip === '' || ip === 'None') return;
  const e = ipError(ip);
  if (e !== undefined) issues.add(path, `${e} (must be an IP address, "None" or empty)`);
}

function buildPorts(issues: Issues, spec: RawSpec, type: ServiceSpec['type']): ServicePort[] {
  const ports = spec.ports ?? [];
  const base = 'spec.ports';
  const names = new Set<string>();
  const numbers = new Set<string>();
  return ports.map((p, i) => {
    const path = index(base, i);
    const protocol = p.protocol ?? 'TCP';
    if (p.port === undefined) issues.add(field(path, 'port'), 'port is required');
    else checkPort(issues, field(path, 'port'), p.port);
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1)
        issues.add(field(path, 'name'), 'name is required when a service has more than one port');
    } else {
      const e = dns1123LabelError(p.name);
      if (e !== undefined) issues.add(field(path, 'name'), e);
      if (names.has(p.name)) issues.add(field(path, 'name'), `duplicate port name ${JSON.stringify(p.name)}`);
      names.add(p.name);
    }
    if (p.port !== undefined) {
      const k = `${p.port}/${protocol}`;
      if (numbers.has(k)) issues.add(path, `duplicate port ${p.port}/${protocol}`);
      numbers.add(k);
    }
    if (typeof p.targetPort === 'number') {
      const e = portError(p.targetPort);
      if (e !== undefined) issues.add(field(path, 'targetPort'), e);
    } else if (typeof p.targetPort === 'string') {
      const e = ianaSvcNameError(p.targetPort);
      if (e !== undefined)
        issues.add(field(path, 'targetPort'), `must be a port number or a port name: ${e}`);
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        issues.add(field(path, 'nodePort'), `may not be used when type is ${type}`);
      } else {
        checkPort(issues, field(path, 'nodePort'), p.nodePort);
      }
    }
    return {
      ...(p.name !== undefined ? { name: p.name } : {}),
      protocol,
      port: p.port ?? 0,
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
      ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
    };
  });
}

export const serviceValidator: KindValidator<'Service'> = {
  kind: 'Service',
  apiVersions: ['v1'],
  namespaced: true,
  nameRule: 'dns1035-label',
  topLevel: { spec: SERVICE_SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    if (top['spec'] === undefined) issues.add('spec', 'spec is required');
    const type = raw.type ?? 'ClusterIP';
    const ports = buildPorts(issues, raw, type);
    const headless = raw.clusterIP === 'None';
    if (ports.length === 0 && type !== 'ExternalName' && !headless && top['spec'] !== undefined) {
      issues.add(
        'spec.ports',
        'at least one port is required (unless type is ExternalName or clusterIP is None)',
      );
    }
    if (raw.clusterIP !== undefined) checkClusterIP(issues, 'spec.clusterIP', raw.clusterIP);
    raw.clusterIPs?.forEach((ip, i) => checkClusterIP(issues, index('spec.clusterIPs', i), ip));
    if (
      raw.clusterIP !== undefined &&
      raw.clusterIP !== '' &&
      raw.clusterIPs !== undefined &&
      raw.clusterIPs.length > 0
    ) {
      if (raw.clusterIPs[0] !== raw.clusterIP)
        issues.add('spec.clusterIPs', 'clusterIPs[0] must match clusterIP');
    }
    if ((raw.clusterIPs?.length ?? 0) > 2)
      issues.add('spec.clusterIPs', 'at most two cluster IPs (one per family)');
    if ((raw.ipFamilies?.length ?? 0) > 2) issues.add('spec.ipFamilies', 'at most two IP families');
    checkLabels(issues, 'spec.selector', raw.selector);
    if (type === 'ExternalName') {
      if (raw.externalName === undefined || raw.externalName === '') {
        issues.add('spec.externalName', 'externalName is required when type is ExternalName');
      } else {
        const e = dns1123SubdomainError(raw.externalName.replace(/\.$/, ''));
        if (e !== undefined) issues.add('spec.externalName', e);
      }
    }
    raw.externalIPs?.forEach((ip, i) => {
      const e = ipError(ip);
      if (e !== undefined) issues.add(index('spec.externalIPs', i), e);
    });
    const spec: ServiceSpec = {
      type,
      ...(raw.clusterIP !== undefined ? { clusterIP: raw.clusterIP } : {}),
      ...(raw.clusterIPs !== undefined ? { clusterIPs: raw.clusterIPs } : {}),
      ...(raw.selector !== undefined ? { selector: raw.selector } : {}),
      ports,
      ...(raw.externalName !== undefined ? { externalName: raw.externalName } : {}),
      ...(raw.ipFamilies !== undefined ? { ipFamilies: raw.ipFamilies } : {}),
    };
    return { spec };
  },
};
