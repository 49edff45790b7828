/**
 * Istio `VirtualService` (networking.istio.io): hosts, gateways and the
 * http/tls/tcp route lists (ValidateVirtualService). The spec is stored as
 * validated plain data for the waypoint.
 */
import type { L7Spec } from '../types.js';
import { ANY, STRING, STRING_MAP, STRINGS, UINT32, arr, field, index, obj, type Issues } from './shape.js';
import { checkExportTo, gatewayRefError, ipError, ipOrCidrError, wildcardDomainError } from './fields.js';
import {
  HTTP_ROUTE,
  ROUTE_DESTINATION,
  checkHttpRoute,
  checkMatchCommon,
  checkRouteDestinations,
  type HttpRoute,
  type RouteDestination,
} from './http-route.js';
import { NETWORKING_VERSIONS, type KindValidator } from './validator.js';

const TLS_MATCH = obj({
  sniHosts: STRINGS,
  destinationSubnets: STRINGS,
  port: UINT32,
  sourceLabels: STRING_MAP,
  gateways: STRINGS,
  sourceNamespace: STRING,
});

const TCP_MATCH = obj({
  destinationSubnets: STRINGS,
  port: UINT32,
  sourceSubnet: STRING,
  sourceLabels: STRING_MAP,
  gateways: STRINGS,
  sourceNamespace: STRING,
});

const SPEC = obj({
  hosts: STRINGS,
  gateways: STRINGS,
  http: arr(HTTP_ROUTE),
  tls: arr(obj({ match: arr(TLS_MATCH), route: arr(ROUTE_DESTINATION) })),
  tcp: arr(obj({ match: arr(TCP_MATCH), route: arr(ROUTE_DESTINATION) })),
  exportTo: STRINGS,
});

interface L4Match {
  readonly sniHosts?: readonly string[];
  readonly destinationSubnets?: readonly string[];
  readonly port?: number;
  readonly sourceSubnet?: string;
  readonly sourceLabels?: Readonly<Record<string, string>>;
  readonly gateways?: readonly string[];
  readonly sourceNamespace?: string;
}
interface L4Route {
  readonly match?: readonly L4Match[];
  readonly route?: readonly RouteDestination[];
}
interface RawSpec {
  readonly hosts?: readonly string[];
  readonly gateways?: readonly string[];
  readonly http?: readonly HttpRoute[];
  readonly tls?: readonly L4Route[];
  readonly tcp?: readonly L4Route[];
  readonly exportTo?: readonly string[];
}

/** The name of the implicit gateway every sidecar/ztunnel-side VirtualService binds to. */
const MESH_GATEWAY = 'mesh';

/** Whether wildcard host `a` covers `b` or the other way round (Istio's host.Name.Matches). */
function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const covers = (w: string, h: string): boolean => w.startsWith('*') && h.endsWith(w.slice(1));
  return covers(a, b) || covers(b, a);
}

/** Whether SNI host `sni` is within virtual service host `host`. */
function sniWithin(sni: string, host: string): boolean {
  if (host === '*' || sni === host) return true;
  if (host.startsWith('*')) {
    const suffix = host.slice(1);
    return sni.startsWith('*') ? sni.slice(1).endsWith(suffix) : sni.endsWith(suffix);
  }
  return false;
}

function checkSubnets(issues: Issues, path: string, subnets: readonly string[] | undefined): void {
  subnets?.forEach((s, i) => {
    const e = ipOrCidrError(s);
    if (e !== undefined) issues.add(index(path, i), e);
  });
}

function checkTlsRoute(issues: Issues, path: string, r: L4Route, hosts: readonly string[]): void {
  if ((r.match?.length ?? 0) === 0)
    issues.add(field(path, 'match'), 'TLS route must have at least one match condition');
  r.match?.forEach((m, i) => {
    const mp = index(field(path, 'match'), i);
    if ((m.sniHosts?.length ?? 0) === 0)
      issues.add(field(mp, 'sniHosts'), 'TLS match must have at least one SNI host');
    m.sniHosts?.forEach((sni, j) => {
      const sp = index(field(mp, 'sniHosts'), j);
      if (ipError(sni) === undefined) return;
      const e = wildcardDomainError(sni);
      if (e !== undefined) issues.add(sp, e);
      else if (!hosts.some((h) => sniWithin(sni, h))) {
        issues.add(
          sp,
          `SNI host ${JSON.stringify(sni)} is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`,
        );
      }
    });
    checkSubnets(issues, field(mp, 'destinationSubnets'), m.destinationSubnets);
    checkMatchCommon(issues, mp, m);
  });
  if ((r.route?.length ?? 0) === 0) issues.add(field(path, 'route'), 'TLS route is required');
  checkRouteDestinations(issues, field(path, 'route'), r.route);
}

function checkTcpRoute(issues: Issues, path: string, r: L4Route): void {
  r.match?.forEach((m, i) => {
    const mp = index(field(path, 'match'), i);
    checkSubnets(issues, field(mp, 'destinationSubnets'), m.destinationSubnets);
    if (m.sourceSubnet !== undefined && m.sourceSubnet !== '') {
      const e = ipOrCidrError(m.sourceSubnet);
      if (e !== undefined) issues.add(field(mp, 'sourceSubnet'), e);
    }
    checkMatchCommon(issues, mp, m);
  });
  if ((r.route?.length ?? 0) === 0) issues.add(field(path, 'route'), 'TCP route is required');
  checkRouteDestinations(issues, field(path, 'route'), r.route);
}

export const virtualServiceValidator: KindValidator<'VirtualService'> = {
  kind: 'VirtualService',
  apiVersions: NETWORKING_VERSIONS,
  namespaced: true,
  nameRule: 'dns1123-subdomain',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    const hosts = raw.hosts ?? [];
    const gateways = raw.gateways ?? [];
    // No hosts makes a delegate VirtualService (Istio enables delegation by
    // default): it is referenced from another one's `delegate`, so it may
    // carry only HTTP routes, and no gateways.
    if (hosts.length === 0) {
      if (gateways.length > 0) issues.add('spec.gateways', 'a delegate virtual service (no hosts) must have no gateways');
      if ((raw.tls?.length ?? 0) > 0) issues.add('spec.tls', 'a delegate virtual service (no hosts) must have no tls routes');
      if ((raw.tcp?.length ?? 0) > 0) issues.add('spec.tcp', 'a delegate virtual service (no hosts) must have no tcp routes');
    }
    gateways.forEach((g, i) => {
      const e = gatewayRefError(g);
      if (e !== undefined) issues.add(index('spec.gateways', i), e);
    });
    const appliesToMesh = gateways.length === 0 || gateways.includes(MESH_GATEWAY);
    let hostsValid = true;
    hosts.forEach((h, i) => {
      const p = index('spec.hosts', i);
      const e = wildcardDomainError(h);
      if (e !== undefined) {
        if (ipError(h) !== undefined) {
          issues.add(p, e);
          hostsValid = false;
        }
      } else if (appliesToMesh && h === '*') {
        issues.add(p, 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
        hostsValid = false;
      }
    });
    if (hostsValid) {
      for (let i = 0; i < hosts.length; i++) {
        for (let j = i + 1; j < hosts.length; j++) {
          const a = hosts[i] ?? '';
          const b = hosts[j] ?? '';
          if (hostsOverlap(a, b))
            issues.add(index('spec.hosts', j), `duplicate hosts in virtual service: ${a} & ${b}`);
        }
      }
    }
    if ((raw.http?.length ?? 0) === 0 && (raw.tcp?.length ?? 0) === 0 && (raw.tls?.length ?? 0) === 0) {
      issues.add('spec', 'http, tcp or tls must be provided in virtual service');
    }
    raw.http?.forEach((r, i) => checkHttpRoute(issues, index('spec.http', i), r));
    raw.tls?.forEach((r, i) => checkTlsRoute(issues, index('spec.tls', i), r, hosts));
    raw.tcp?.forEach((r, i) => checkTcpRoute(issues, index('spec.tcp', i), r));
    checkExportTo(issues, 'spec.exportTo', raw.exportTo, false);
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
