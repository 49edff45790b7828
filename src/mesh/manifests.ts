/**
 * The YAML `ambit mesh` writes into istiod's config directory: the demo
 * namespace (ambient), its services and the pods as the netns cluster
 * placed them (node, IP), so istiod derives workloads exactly as it would
 * from a Kubernetes API server.
 */
import { stringify } from 'yaml';

export const DEMO_NAMESPACE = 'demo';

export interface PodManifestInput {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly node: string;
  readonly ips: readonly string[];
  readonly app: string;
  readonly serviceAccount: string;
  readonly containerPort: number;
  /** The ReplicaSet hash a Deployment's pods carry; istiod derives the workload name from it. */
  readonly podTemplateHash?: string;
}

export interface ServiceManifestInput {
  readonly name: string;
  readonly namespace: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly targetPort: number;
}

export function namespaceManifest(name: string, ambient: boolean): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: ambient ? { 'istio.io/dataplane-mode': 'ambient' } : {} },
  });
}

export function serviceManifest(s: ServiceManifestInput): string {
  const docs = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: s.name, namespace: s.namespace } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: s.namespace },
      spec: {
        clusterIP: s.clusterIP,
        selector: { app: s.name },
        ports: [{ name: 'http', port: s.port, targetPort: s.targetPort }],
      },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

export function podManifest(p: PodManifestInput): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      labels: { app: p.app, version: 'v1', ...(p.podTemplateHash !== undefined ? { 'pod-template-hash': p.podTemplateHash } : {}) },
    },
    spec: {
      nodeName: p.node,
      serviceAccountName: p.serviceAccount,
      containers: [{ name: p.app, image: `ambit-demo/${p.app}`, ports: [{ name: 'http', containerPort: p.containerPort }] }],
    },
    status: {
      phase: 'Running',
      podIP: p.ips[0],
      podIPs: p.ips.map((ip) => ({ ip })),
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  });
}
