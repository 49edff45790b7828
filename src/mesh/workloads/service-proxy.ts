/**
 * What kube-proxy does in a cluster, for the local mesh: a Service's
 * cluster IP reaches its ready pods also from pods the mesh does not
 * capture. Each node's network namespace gets one nftables table with a
 * DNAT rule per Service port, spreading new connections over the endpoints
 * at random; conntrack on the client's node undoes it on the way back.
 * Captured pods never get here: their agent picks the endpoint in the pod.
 */
import type { NetnsCluster } from '../cluster/index.js';
import type { PodRecord } from '../state.js';
import type { ServiceName } from './desired.js';
import { podNotReady } from './readiness.js';
import { WorkloadError } from './errors.js';

/** The nftables table the mesh owns in every node namespace. */
export const SERVICE_TABLE = 'ambit_services';

export interface ServiceRule {
  readonly service: string;
  readonly clusterIp: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  /** Endpoint IPv4 addresses and the one target port they listen on. */
  readonly endpoints: readonly string[];
  readonly targetPort: number;
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([k, v]) => labels[k] === v);
}

/** A `targetPort` of one pod: a number, or the name of one of its containerPorts. */
function targetPortOf(pod: PodRecord, target: number | string | undefined, port: number): number | undefined {
  if (target === undefined) return port;
  if (typeof target === 'number') return target;
  for (const c of pod.containers ?? []) {
    const n = c.portNames?.[target];
    if (n !== undefined) return n;
  }
  return undefined;
}

/**
 * The DNAT rules for the Services and pods as they are: ready pods the
 * selector picks, IPv4 only. Endpoints whose target port differs from the
 * first endpoint's are left out (a named port that resolves differently
 * per pod), as are protocols other than TCP and UDP.
 */
export function serviceRules(services: readonly ServiceName[], pods: readonly PodRecord[]): ServiceRule[] {
  const rules: ServiceRule[] = [];
  const ready = pods.filter((p) => p.owner !== undefined && podNotReady(p).length === 0);
  for (const s of services) {
    if (s.selector === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(s.clusterIp)) continue;
    const selected = ready.filter((p) => p.namespace === s.namespace && selects(s.selector!, p.labels ?? {}));
    for (const sp of s.ports ?? []) {
      const protocol = sp.protocol === 'TCP' ? 'tcp' : sp.protocol === 'UDP' ? 'udp' : undefined;
      if (protocol === undefined) continue;
      let targetPort: number | undefined;
      const endpoints: string[] = [];
      for (const p of selected) {
        const t = targetPortOf(p, sp.targetPort, sp.port);
        const ip = p.ips.find((a) => a.includes('.'));
        if (t === undefined || ip === undefined) continue;
        targetPort ??= t;
        if (t === targetPort) endpoints.push(ip);
      }
      if (targetPort !== undefined && endpoints.length > 0) {
        rules.push({ service: `${s.namespace}/${s.name}`, clusterIp: s.clusterIp, port: sp.port, protocol, endpoints: endpoints.sort(), targetPort });
      }
    }
  }
  return rules.sort((a, b) => `${a.clusterIp}:${a.port}`.localeCompare(`${b.clusterIp}:${b.port}`));
}

/** The whole table, replaced in one nft transaction (created first so the delete cannot fail). */
export function nftRuleset(rules: readonly ServiceRule[]): string {
  const lines = rules.map((r) => {
    const to =
      r.endpoints.length === 1
        ? `${r.endpoints[0]}`
        : `numgen random mod ${r.endpoints.length} map { ${r.endpoints.map((ip, i) => `${i} : ${ip}`).join(', ')} }`;
    return `    ip daddr ${r.clusterIp} ${r.protocol} dport ${r.port} dnat to ${to} : ${r.targetPort} comment "${r.service}"`;
  });
  return [
    `table ip ${SERVICE_TABLE}`,
    `delete table ip ${SERVICE_TABLE}`,
    `table ip ${SERVICE_TABLE} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...lines,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Installs the ruleset in every node's namespace. */
export async function programServiceProxy(cluster: NetnsCluster, ruleset: string): Promise<void> {
  for (const node of cluster.nodes) {
    const r = await cluster.execInNode(node.name, ['nft', '-f', '-'], { input: ruleset, timeoutMs: 10_000 });
    if (r.code !== 0) {
      throw new WorkloadError('WORKLOAD_SERVICE_PROXY_FAILED', `node ${node.name}: nft -f - failed (${r.code ?? r.signal}): ${r.stderr.trim()}`);
    }
  }
}
