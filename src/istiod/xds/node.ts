/**
 * The node a proxy announces on its first xDS request, decoded once.
 *
 * Istio's node id is `<type>~<ip>~<id>~<domain>`; ztunnel sends
 * `ztunnel~<INSTANCE_IP>~<POD_NAME>.<POD_NAMESPACE>~<POD_NAMESPACE>.svc.cluster.local`.
 */
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import { XdsError } from './errors.js';

/** Proxy types istiod accepts in the first field of a node id. */
export const NODE_TYPES = ['ztunnel', 'sidecar', 'router', 'waypoint'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export interface XdsNodeId {
  readonly type: NodeType;
  /** The IP in the second field (ztunnel's INSTANCE_IP). */
  readonly ipAddress: string;
  /** The third field: `<pod>.<namespace>` for Kubernetes proxies. */
  readonly id: string;
  /** The pod name: `id` up to its last dot (namespaces never contain dots). */
  readonly podName: string;
  /** The namespace: `id` after its last dot, or the first label of `domain`. */
  readonly namespace: string;
  /** The fourth field, `<namespace>.svc.cluster.local`. */
  readonly domain: string;
}

export interface XdsNode extends XdsNodeId {
  /** The raw node id as sent. */
  readonly rawId: string;
  /** `metadata.NODE_NAME` (the Kubernetes node the proxy runs on), or the raw id when absent. */
  readonly nodeName: string;
  /** `metadata.CLUSTER_ID`, empty when absent. */
  readonly clusterId: string;
  /** `metadata.ISTIO_VERSION`, empty when absent. */
  readonly istioVersion: string;
  /** Every metadata entry whose value is a string. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Parses `<type>~<ip>~<id>~<domain>`; throws XDS_INVALID_NODE_ID naming the part at fault. */
export function parseNodeId(raw: string): XdsNodeId {
  const parts = raw.split('~');
  if (parts.length !== 4) {
    throw new XdsError(
      'XDS_INVALID_NODE_ID',
      `node id "${raw}": has ${parts.length} "~"-separated parts, want 4 (<type>~<ip>~<id>~<domain>)`,
    );
  }
  const [type, ipAddress, id, domain] = parts as [string, string, string, string];
  if (!(NODE_TYPES as readonly string[]).includes(type)) {
    throw new XdsError(
      'XDS_INVALID_NODE_ID',
      `node id "${raw}": type "${type}" is not one of ${NODE_TYPES.join(', ')}`,
    );
  }
  if (ipAddress === '') {
    throw new XdsError('XDS_INVALID_NODE_ID', `node id "${raw}": the IP part is empty`);
  }
  if (id === '') {
    throw new XdsError('XDS_INVALID_NODE_ID', `node id "${raw}": the id part is empty`);
  }
  const dot = id.lastIndexOf('.');
  const podName = dot > 0 ? id.slice(0, dot) : id;
  const namespace = dot > 0 ? id.slice(dot + 1) : (domain.split('.')[0] ?? '');
  return { type: type as NodeType, ipAddress, id, podName, namespace, domain };
}

/** Decodes the protobuf Node of a first request; throws XDS_MISSING_NODE / XDS_INVALID_NODE_ID. */
export function decodeNode(node: Node | undefined): XdsNode {
  if (node === undefined || node.id === '') {
    throw new XdsError('XDS_MISSING_NODE', 'the first request of the stream carries no node id');
  }
  const parsed = parseNodeId(node.id);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(node.metadata ?? {})) {
    if (typeof value === 'string') metadata[key] = value;
  }
  return {
    ...parsed,
    rawId: node.id,
    nodeName: metadata['NODE_NAME'] || node.id,
    clusterId: metadata['CLUSTER_ID'] ?? '',
    istioVersion: metadata['ISTIO_VERSION'] ?? '',
    metadata,
  };
}
