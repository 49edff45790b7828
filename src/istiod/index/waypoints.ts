/**
 * Waypoints: Gateway API Gateways of class istio-waypoint, what kinds of
 * resources they may front (the istio.io/waypoint-for label), which waypoint
 * an object asks for (istio.io/use-waypoint and use-waypoint-namespace on the
 * object, else on its namespace), and the GatewayAddress served for it. As
 * Istio's ambient index, the address is the hostname form
 * (<name>.<ns>.svc.<suffix>, HBONE port 15008); ztunnel resolves it.
 */
import { create } from '@bufbuild/protobuf';
import {
  GatewayAddressSchema,
  NamespacedHostnameSchema,
  type GatewayAddress,
} from '../../gen/istio/workload/workload_pb.js';
import type { ConfigObject } from '../config/types.js';
import type { Labels } from './labels.js';

export const WAYPOINT_GATEWAY_CLASS = 'istio-waypoint';
export const HBONE_MTLS_PORT = 15008;
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
export const USE_WAYPOINT_NAMESPACE_LABEL = 'istio.io/use-waypoint-namespace';
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** What a waypoint fronts. */
export type WaypointFor = 'service' | 'workload' | 'all' | 'none';
/** The kind of object asking for a waypoint. */
export type BoundKind = 'service' | 'workload';

export interface Waypoint {
  readonly namespace: string;
  readonly name: string;
  readonly for: WaypointFor;
}

/** The waypoint a Gateway declares; undefined when it is not of class istio-waypoint. */
export function waypointOfGateway(gw: ConfigObject<'KubernetesGateway'>): Waypoint | undefined {
  if (gw.spec['gatewayClassName'] !== WAYPOINT_GATEWAY_CLASS) return undefined;
  return { namespace: gw.metadata.namespace, name: gw.metadata.name, for: waypointFor(gw.metadata.labels) };
}

/** The waypoint-for label's value; unknown or absent values mean "service", Istio's default. */
export function waypointFor(labels: Labels | undefined): WaypointFor {
  const v = labels?.[WAYPOINT_FOR_LABEL];
  return v === 'workload' || v === 'all' || v === 'none' ? v : 'service';
}

/** Whether a waypoint may front an object of this kind. */
export function waypointAccepts(w: Waypoint, kind: BoundKind): boolean {
  return w.for === 'all' || w.for === kind;
}

/**
 * The "<ns>/<name>" of the waypoint an object asks for: its own labels first
 * (use-waypoint "none" opts out), else its namespace's; undefined when none.
 */
export function requestedWaypoint(
  objectNamespace: string,
  objectLabels: Labels | undefined,
  namespaceLabels: Labels | undefined,
): { namespace: string; name: string } | undefined {
  for (const labels of [objectLabels, namespaceLabels]) {
    const name = labels?.[USE_WAYPOINT_LABEL];
    if (name === undefined || name === '') continue;
    if (name === 'none') return undefined;
    return { namespace: labels?.[USE_WAYPOINT_NAMESPACE_LABEL] || objectNamespace, name };
  }
  return undefined;
}

/**
 * The waypoint bound to an object, or undefined: it must exist, accept the
 * kind, and not be the object itself (a waypoint's own pods carry its
 * gateway-name label).
 */
export function boundWaypoint(
  kind: BoundKind,
  objectNamespace: string,
  objectLabels: Labels | undefined,
  namespaceLabels: Labels | undefined,
  waypoints: ReadonlyMap<string, Waypoint>,
): Waypoint | undefined {
  const want = requestedWaypoint(objectNamespace, objectLabels, namespaceLabels);
  if (want === undefined) return undefined;
  const w = waypoints.get(`${want.namespace}/${want.name}`);
  if (w === undefined || !waypointAccepts(w, kind)) return undefined;
  if (kind === 'workload' && objectNamespace === w.namespace && objectLabels?.[GATEWAY_NAME_LABEL] === w.name)
    return undefined;
  return w;
}

/** The address served for a waypoint: its Service hostname, HBONE on 15008. */
export function waypointAddress(w: Waypoint, domainSuffix: string): GatewayAddress {
  return create(GatewayAddressSchema, {
    destination: {
      case: 'hostname',
      value: create(NamespacedHostnameSchema, {
        namespace: w.namespace,
        hostname: `${w.name}.${w.namespace}.svc.${domainSuffix}`,
      }),
    },
    hboneMtlsPort: HBONE_MTLS_PORT,
  });
}
