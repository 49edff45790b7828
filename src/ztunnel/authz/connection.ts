/**
 * What L4 authorization knows about a connection, as the destination node
 * agent sees it: the peer's IP (the tunnel's source), the peer's mTLS
 * identity (none for plaintext), and the actual target IP and port.
 * `prepareConnection` parses it once so a live connection can be re-checked
 * against new policies without parsing again.
 */
import { AuthzError } from './errors.js';
import { parseIp, type IpBytes } from '../../shared/net/index.js';

export interface ConnectionAttributes {
  readonly sourceIp: string;
  /** The peer's SPIFFE identity without `spiffe://` ("td/ns/x/sa/y"); absent for plaintext. */
  readonly sourcePrincipal?: string;
  /** The peer's namespace, from its identity; derived from `sourcePrincipal` when absent. */
  readonly sourceNamespace?: string;
  readonly destinationIp: string;
  /** The actual target port (the workload port, not a service port). */
  readonly destinationPort: number;
}

/** A peer identity split into the parts policies match on. */
export interface PeerIdentity {
  /** Without `spiffe://`. */
  readonly principal: string;
  readonly namespace: string;
  /** Undefined when the principal is not of the Istio form <td>/ns/<ns>/sa/<sa>. */
  readonly serviceAccount: string | undefined;
}

/** A connection parsed for matching. */
export interface PreparedConnection {
  readonly attributes: ConnectionAttributes;
  readonly sourceIp: IpBytes;
  readonly destinationIp: IpBytes;
  readonly destinationPort: number;
  /** Undefined for a plaintext peer. */
  readonly identity: PeerIdentity | undefined;
  /** The peer namespace policies compare against: "" without an identity, as the node agent does. */
  readonly namespace: string;
}

const SPIFFE_PREFIX = 'spiffe://';

/**
 * Splits "<td>/ns/<ns>/sa/<sa>" (a leading `spiffe://` is accepted). Other
 * shapes keep the principal for principal matching but name no service
 * account; their namespace is "".
 */
export function peerIdentity(principal: string, namespace?: string): PeerIdentity {
  const bare = principal.startsWith(SPIFFE_PREFIX) ? principal.slice(SPIFFE_PREFIX.length) : principal;
  const parts = bare.split('/');
  const istioForm = parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' && parts[0] !== '' && parts[2] !== '' && parts[4] !== '';
  return {
    principal: bare,
    namespace: namespace ?? (istioForm ? (parts[2] as string) : ''),
    serviceAccount: istioForm ? parts[4] : undefined,
  };
}

/** Parses a connection for matching; throws AuthzError for an IP or port that is not one. */
export function prepareConnection(conn: ConnectionAttributes): PreparedConnection {
  const sourceIp = parseIp(conn.sourceIp);
  if (sourceIp === undefined) throw new AuthzError('AUTHZ_INVALID_ADDRESS', `source IP "${conn.sourceIp}" is not an IPv4 or IPv6 address`);
  const destinationIp = parseIp(conn.destinationIp);
  if (destinationIp === undefined) {
    throw new AuthzError('AUTHZ_INVALID_ADDRESS', `destination IP "${conn.destinationIp}" is not an IPv4 or IPv6 address`);
  }
  const port = conn.destinationPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AuthzError('AUTHZ_INVALID_PORT', `destination port ${String(port)} is not an integer in 0..65535`);
  }
  // An empty principal is no identity: the node agent never holds an empty one.
  const identity =
    conn.sourcePrincipal === undefined || conn.sourcePrincipal === ''
      ? undefined
      : peerIdentity(conn.sourcePrincipal, conn.sourceNamespace);
  return { attributes: conn, sourceIp, destinationIp, destinationPort: port, identity, namespace: identity?.namespace ?? '' };
}
