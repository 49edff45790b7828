/** Telemetry facts of pods (PeerWorkload by IP), from the workload-name and canonical-service heuristics of the index. */
import type { ConfigObject } from '../config/types.js';
import type { PeerWorkload } from '../../shared/l7/waypoint-config.js';
import { canonicalService, podWorkloadOwner } from '../index/labels.js';
import { podUid } from '../index/workloads.js';

export function podIp(pod: ConfigObject<'Pod'>): string | undefined {
  return pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
}

export function compilePeers(pods: readonly ConfigObject<'Pod'>[], clusterId: string): Record<string, PeerWorkload> {
  const out: Record<string, PeerWorkload> = {};
  const sorted = [...pods].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  for (const pod of sorted) {
    const ip = podIp(pod);
    if (ip === undefined || out[ip] !== undefined) continue;
    const { labels, name, namespace } = pod.metadata;
    const workload = podWorkloadOwner(name, labels).name;
    const canon = canonicalService(labels, workload);
    out[ip] = {
      uid: podUid(clusterId, namespace, name),
      workload,
      namespace,
      serviceAccount: pod.spec.serviceAccountName ?? 'default',
      canonicalService: canon.name,
      canonicalRevision: canon.revision,
      cluster: clusterId,
      labels: { ...labels },
    };
  }
  return out;
}
