/** The xDS Node a node agent sends, shaped as ztunnel's (istiod parses `type~ip~id~domain`). */
import { create } from '@bufbuild/protobuf';
import { NodeSchema, type Node } from '../../gen/envoy/config/core/v3/base_pb.js';

export interface AgentIdentity {
  /** The agent pod's IP (INSTANCE_IP). */
  readonly ip: string;
  readonly podName: string;
  readonly podNamespace: string;
  /** The Kubernetes node name: istiod and the agent match workloads' `node` against it. */
  readonly nodeName: string;
  readonly clusterId?: string;
  /** Extra metadata (proxyMetadata, ISTIO_META_*), string values. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** `ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
export function agentNodeId(a: AgentIdentity): string {
  return `ztunnel~${a.ip}~${a.podName}.${a.podNamespace}~${a.podNamespace}.svc.cluster.local`;
}

export function agentNode(a: AgentIdentity): Node {
  return create(NodeSchema, {
    id: agentNodeId(a),
    metadata: {
      ...(a.metadata ?? {}),
      ...(a.clusterId === undefined ? {} : { CLUSTER_ID: a.clusterId }),
      NODE_NAME: a.nodeName,
      NAME: a.podName,
      NAMESPACE: a.podNamespace,
      INSTANCE_IPS: a.ip,
    },
  });
}
