import { AmbitError } from './errors.js';

/** A SPIFFE workload identity as Istio uses it: spiffe://<td>/ns/<ns>/sa/<sa>. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export class SpiffeError extends AmbitError {}

const SPIFFE_PREFIX = 'spiffe://';

export function formatSpiffeId(id: SpiffeId): string {
  return `${SPIFFE_PREFIX}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Parses an Istio SPIFFE URI; anything not of the form spiffe://td/ns/N/sa/S is an error. */
export function parseSpiffeId(uri: string): SpiffeId {
  if (!uri.startsWith(SPIFFE_PREFIX)) {
    throw new SpiffeError('SPIFFE_INVALID', `"${uri}" is not a SPIFFE URI (must start with ${SPIFFE_PREFIX})`);
  }
  const parts = uri.slice(SPIFFE_PREFIX.length).split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa' || !parts[0] || !parts[2] || !parts[4]) {
    throw new SpiffeError('SPIFFE_INVALID', `"${uri}" is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`);
  }
  return { trustDomain: parts[0], namespace: parts[2], serviceAccount: parts[4] };
}
