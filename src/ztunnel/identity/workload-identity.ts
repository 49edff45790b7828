/** The SPIFFE identity a workload runs as, with Istio's defaults for empty fields. */
import type { Workload } from '../../gen/istio/workload/workload_pb.js';
import { formatSpiffeId } from '../../shared/spiffe.js';

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_SERVICE_ACCOUNT = 'default';

/** `spiffe://<trust_domain or cluster.local>/ns/<namespace>/sa/<service_account or default>`. */
export function workloadIdentity(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return formatSpiffeId({
    trustDomain: w.trustDomain || DEFAULT_TRUST_DOMAIN,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount || DEFAULT_SERVICE_ACCOUNT,
  });
}
