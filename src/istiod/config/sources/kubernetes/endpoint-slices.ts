/**
 * EndpointSlices (discovery.k8s.io/v1) are not a ConfigKind: Pods already
 * give the ambient index every workload it serves. The source keeps them
 * here, decoded into a small typed form (the addresses, their readiness,
 * the pod they point at and the ports), for consumers that need a
 * Service's endpoints as Kubernetes computed them (selector-less Services).
 */
import type { FieldError } from '../../types.js';

/** The label that ties a slice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface EndpointSliceEndpoint {
  readonly addresses: readonly string[];
  /** Absent means unknown, which consumers treat as ready (the API's rule). */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly nodeName?: string;
  readonly targetRef?: { readonly kind: string; readonly namespace: string; readonly name: string };
}

export interface EndpointSlicePort {
  readonly name?: string;
  readonly port?: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol?: string;
}

export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  /** The Service this slice belongs to (its `kubernetes.io/service-name` label), when it has one. */
  readonly serviceName?: string;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly EndpointSliceEndpoint[];
  readonly ports: readonly EndpointSlicePort[];
  readonly resourceVersion?: string;
}

export type EndpointSliceResult =
  | { readonly kind: 'valid'; readonly slice: EndpointSlice }
  | { readonly kind: 'invalid'; readonly errors: readonly FieldError[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** Decodes the fields the mesh reads; every problem is reported with its field path. */
export function decodeEndpointSlice(raw: Readonly<Record<string, unknown>>): EndpointSliceResult {
  const errors: FieldError[] = [];
  const add = (path: string, message: string): void => {
    errors.push({ path, message });
  };
  const md = isRecord(raw['metadata']) ? raw['metadata'] : undefined;
  const name = typeof md?.['name'] === 'string' ? md['name'] : '';
  const namespace = typeof md?.['namespace'] === 'string' ? md['namespace'] : '';
  if (name === '') add('metadata.name', 'name is required');
  if (namespace === '') add('metadata.namespace', 'namespace is required');
  const labels = isRecord(md?.['labels']) ? md['labels'] : {};
  const serviceName = labels[SERVICE_NAME_LABEL];

  const addressType = raw['addressType'];
  if (typeof addressType !== 'string' || !(ADDRESS_TYPES as readonly string[]).includes(addressType)) {
    add('addressType', `must be one of ${ADDRESS_TYPES.join(', ')}`);
  }

  const endpoints: EndpointSliceEndpoint[] = [];
  const rawEndpoints = raw['endpoints'] ?? [];
  if (!Array.isArray(rawEndpoints)) add('endpoints', 'must be a list');
  else {
    rawEndpoints.forEach((e: unknown, i) => {
      const path = `endpoints[${i}]`;
      if (!isRecord(e)) {
        add(path, 'must be an object');
        return;
      }
      const addresses = e['addresses'];
      if (!Array.isArray(addresses) || addresses.length === 0) {
        add(`${path}.addresses`, 'at least one address is required');
        return;
      }
      const bad = addresses.findIndex((a) => typeof a !== 'string' || a === '');
      if (bad !== -1) {
        add(`${path}.addresses[${bad}]`, 'must be a non-empty string');
        return;
      }
      const cond = isRecord(e['conditions']) ? e['conditions'] : {};
      const flag = (k: string): { [key: string]: boolean } => {
        const v = cond[k];
        if (v === undefined || v === null) return {};
        if (typeof v !== 'boolean') {
          add(`${path}.conditions.${k}`, 'must be a boolean');
          return {};
        }
        return { [k]: v };
      };
      const ref = isRecord(e['targetRef']) ? e['targetRef'] : undefined;
      endpoints.push({
        addresses: addresses as string[],
        ...flag('ready'),
        ...flag('serving'),
        ...flag('terminating'),
        ...(typeof e['nodeName'] === 'string' ? { nodeName: e['nodeName'] } : {}),
        ...(ref !== undefined && typeof ref['name'] === 'string'
          ? {
              targetRef: {
                kind: typeof ref['kind'] === 'string' ? ref['kind'] : '',
                namespace: typeof ref['namespace'] === 'string' ? ref['namespace'] : namespace,
                name: ref['name'],
              },
            }
          : {}),
      });
    });
  }

  const ports: EndpointSlicePort[] = [];
  const rawPorts = raw['ports'] ?? [];
  if (!Array.isArray(rawPorts)) add('ports', 'must be a list');
  else {
    rawPorts.forEach((p: unknown, i) => {
      const path = `ports[${i}]`;
      if (!isRecord(p)) {
        add(path, 'must be an object');
        return;
      }
      const port = p['port'];
      if (port !== undefined && port !== null && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)) {
        add(`${path}.port`, 'must be an integer in 1..65535');
      }
      const protocol = p['protocol'] ?? 'TCP';
      if (typeof protocol !== 'string' || !(PROTOCOLS as readonly string[]).includes(protocol)) {
        add(`${path}.protocol`, `must be one of ${PROTOCOLS.join(', ')}`);
      }
      ports.push({
        ...(typeof p['name'] === 'string' ? { name: p['name'] } : {}),
        ...(typeof port === 'number' ? { port } : {}),
        protocol: protocol as EndpointSlicePort['protocol'],
        ...(typeof p['appProtocol'] === 'string' ? { appProtocol: p['appProtocol'] } : {}),
      });
    });
  }

  if (errors.length > 0) return { kind: 'invalid', errors };
  const rv = md?.['resourceVersion'];
  return {
    kind: 'valid',
    slice: {
      namespace,
      name,
      ...(typeof serviceName === 'string' && serviceName !== '' ? { serviceName } : {}),
      addressType: addressType as EndpointSlice['addressType'],
      endpoints,
      ports,
      ...(typeof rv === 'string' ? { resourceVersion: rv } : {}),
    },
  };
}
