/**
 * Who is at the other end of an ADS stream, and what it may receive.
 *
 * As istiod (pilot/pkg/xds/authentication.go): streams on the TLS port
 * authenticate before anything is served, with the same authenticators as
 * the CA — a bearer token in the `authorization` metadata (file mode: the
 * node tokens of `--tokens`; Kubernetes: TokenReview, audience istio-ca) or
 * a client certificate of a mesh identity (verified by the TLS handshake
 * against the mesh root, one SPIFFE URI SAN in the trust domain). The first
 * credential that passes wins; when none does the stream ends with
 * UNAUTHENTICATED naming what each one lacked. The plaintext port is not
 * authenticated (istiod's 15010), which is why it listens on loopback only.
 *
 * Authorization is stricter than istiod's identity check (which compares a
 * certificate's namespace and service account with the node id): a node
 * agent may only name its own node, and the ztunnel resource types
 * (Address, Workload, Authorization: every pod's address and identity, every
 * policy) go only to node agents, never to an ordinary workload identity.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { parseSpiffeId, type SpiffeId } from '../../shared/spiffe.js';
import { CaError, type CallerAuthenticator } from '../ca/index.js';
import { XdsError } from './errors.js';
import type { XdsNode } from './node.js';
import { WAYPOINT_CONFIG_TYPE_URL } from '../../shared/l7/waypoint-config.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WORKLOAD_TYPE_URL } from './resource-source.js';

/** The types only node agents receive: the whole mesh's addresses, identities and policies. */
export const NODE_AGENT_TYPE_URLS: readonly string[] = [
  ADDRESS_TYPE_URL,
  WORKLOAD_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
];

/** The caller of one ADS stream, decided once when the stream opens. */
export type XdsCaller =
  /** A stream on the plaintext (loopback) port: not authenticated, as istiod's 15010. */
  | { readonly kind: 'local' }
  /** A node agent, by its node token or Kubernetes token: the node it runs on. */
  | { readonly kind: 'node-agent'; readonly node: string }
  /** A mesh identity proven by a client certificate; not a node agent. */
  | { readonly kind: 'workload'; readonly identity: SpiffeId; readonly uri: string };

/** What a TLS stream presents. */
export interface XdsStreamCredentials {
  readonly metadata: Metadata;
  /**
   * The client certificate, present only when the TLS handshake verified it
   * (chain to the mesh root, validity period); absent when none was sent or
   * it did not verify.
   */
  readonly peerCertificate: PeerCertificate | undefined;
}

export interface XdsAuthenticator {
  /** The caller, or XDS_UNAUTHENTICATED / XDS_PERMISSION_DENIED / XDS_AUTH_UNAVAILABLE saying why not. */
  authenticate(credentials: XdsStreamCredentials): Promise<XdsCaller>;
}

export interface MeshXdsAuthenticatorOptions {
  /** The CA's caller authenticator (node tokens file or TokenReview): one token parser for both services. */
  readonly nodeTokens: CallerAuthenticator;
  /** Client certificates must name an identity in this trust domain. */
  readonly trustDomain: string;
}

/** Bearer token first (the only credential that names a node), then the client certificate. */
export class MeshXdsAuthenticator implements XdsAuthenticator {
  private readonly nodeTokens: CallerAuthenticator;
  private readonly trustDomain: string;

  constructor(options: MeshXdsAuthenticatorOptions) {
    this.nodeTokens = options.nodeTokens;
    this.trustDomain = options.trustDomain;
  }

  async authenticate(credentials: XdsStreamCredentials): Promise<XdsCaller> {
    const failures: string[] = [];
    let denied: CaError | undefined;
    if (credentials.metadata.get('authorization').length > 0) {
      try {
        const caller = await this.nodeTokens.authenticate(credentials.metadata);
        return { kind: 'node-agent', node: caller.node };
      } catch (err) {
        if (!(err instanceof CaError)) throw err;
        if (err.code === 'CA_UNAVAILABLE') {
          throw new XdsError(
            'XDS_AUTH_UNAVAILABLE',
            `cannot authenticate the xds client now: ${err.message}`,
            {
              cause: err,
            },
          );
        }
        // A real token of something that is not a node agent (Kubernetes): known, but not allowed here.
        if (err.code === 'CA_PERMISSION_DENIED') denied = err;
        failures.push(`bearer token: ${err.message}`);
      }
    } else {
      failures.push('bearer token: no authorization metadata (send "authorization: Bearer <token>")');
    }
    const cert = credentials.peerCertificate;
    if (cert === undefined) {
      failures.push('client certificate: none that chains to the mesh root was presented');
    } else {
      try {
        return this.certificateCaller(cert);
      } catch (err) {
        if (!(err instanceof XdsError)) throw err;
        failures.push(`client certificate: ${err.message}`);
      }
    }
    if (denied !== undefined) {
      throw new XdsError('XDS_PERMISSION_DENIED', `authorization failed: ${denied.message}`, {
        cause: denied,
      });
    }
    throw new XdsError('XDS_UNAUTHENTICATED', `authentication failure: ${failures.join('; ')}`);
  }

  private certificateCaller(cert: PeerCertificate): XdsCaller {
    const uris = uriSans(cert.subjectaltname ?? '');
    if (uris.length !== 1) {
      throw new XdsError(
        'XDS_UNAUTHENTICATED',
        `the certificate carries ${uris.length} URI SANs, a mesh identity carries exactly one SPIFFE URI`,
      );
    }
    const uri = uris[0] as string;
    let identity: SpiffeId;
    try {
      identity = parseSpiffeId(uri);
    } catch (err) {
      throw new XdsError('XDS_UNAUTHENTICATED', `URI SAN ${uri}: ${(err as Error).message}`, { cause: err });
    }
    if (identity.trustDomain !== this.trustDomain) {
      throw new XdsError(
        'XDS_UNAUTHENTICATED',
        `identity ${uri} is in trust domain ${identity.trustDomain}, this mesh is ${this.trustDomain}`,
      );
    }
    return { kind: 'workload', identity, uri };
  }
}

/**
 * The URI entries of Node's `subjectaltname` rendering
 * (`URI:spiffe://..., DNS:name`); values with a comma are quoted by Node.
 */
function uriSans(subjectAltName: string): string[] {
  const out: string[] = [];
  const re = /(?:^|,\s*)([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(subjectAltName); m !== null; m = re.exec(subjectAltName)) {
    if (m[1] !== 'URI') continue;
    const raw = m[2] ?? '';
    out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return out;
}

/** Who the caller is, for logs and messages. */
export function describeCaller(caller: XdsCaller): string {
  switch (caller.kind) {
    case 'local':
      return 'a local plaintext client';
    case 'node-agent':
      return `the node agent of node ${caller.node}`;
    case 'workload':
      return `workload identity ${caller.uri}`;
  }
}

/**
 * Checks the node a stream names on its first request against its caller;
 * throws XDS_PERMISSION_DENIED saying what does not match.
 */
export function authorizeNode(caller: XdsCaller, node: XdsNode): void {
  switch (caller.kind) {
    case 'local':
      return;
    case 'node-agent': {
      const claimed = node.metadata['NODE_NAME'];
      if (claimed !== caller.node) {
        throw new XdsError(
          'XDS_PERMISSION_DENIED',
          `authorization failed: the credential is node ${caller.node}'s, but node ${node.rawId} names ${claimed === undefined ? 'no node (metadata NODE_NAME is missing)' : `node ${claimed} in metadata NODE_NAME`}`,
        );
      }
      return;
    }
    case 'workload': {
      const id = caller.identity;
      if (node.type === 'ztunnel') {
        throw new XdsError(
          'XDS_PERMISSION_DENIED',
          `authorization failed: ${caller.uri} is not a node agent, so it may not connect as ztunnel (node ${node.rawId}); node agents authenticate with their node token`,
        );
      }
      // istiod's checkConnectionIdentity: the identity must be the proxy's namespace and service account.
      const sa = node.metadata['SERVICE_ACCOUNT'];
      if (id.namespace !== node.namespace || (sa !== undefined && sa !== '' && sa !== id.serviceAccount)) {
        throw new XdsError(
          'XDS_PERMISSION_DENIED',
          `authorization failed: identity ${caller.uri} does not match node ${node.rawId} (namespace ${node.namespace}${sa ? `, service account ${sa}` : ''})`,
        );
      }
      return;
    }
  }
}

/** Throws XDS_PERMISSION_DENIED when the caller may not receive resources of this type. */
export function authorizeType(caller: XdsCaller, typeUrl: string): void {
  if (caller.kind !== 'workload' || !NODE_AGENT_TYPE_URLS.includes(typeUrl)) return;
  throw new XdsError(
    'XDS_PERMISSION_DENIED',
    `${typeUrl} is served only to node agents; ${describeCaller(caller)} is not one`,
  );
}

/**
 * Checks what a stream subscribes to within a type it may receive. A
 * waypoint's compiled configuration ("<ns>/<name>", the waypoint being the
 * service account <name> in <ns>) goes only to that waypoint's own identity,
 * by name, never by wildcard: it names every endpoint and policy behind it.
 * Throws XDS_PERMISSION_DENIED naming what was asked.
 */
export function authorizeSubscription(
  caller: XdsCaller,
  typeUrl: string,
  wildcard: boolean,
  names: Iterable<string>,
): void {
  if (typeUrl !== WAYPOINT_CONFIG_TYPE_URL || caller.kind === 'local') return;
  if (caller.kind === 'node-agent') {
    throw new XdsError(
      'XDS_PERMISSION_DENIED',
      `${typeUrl} is served only to waypoints, by their own identity; ${describeCaller(caller)} is not one`,
    );
  }
  const own = `${caller.identity.namespace}/${caller.identity.serviceAccount}`;
  if (wildcard) {
    throw new XdsError(
      'XDS_PERMISSION_DENIED',
      `${describeCaller(caller)} subscribed to every ${typeUrl}; a waypoint subscribes to its own ("${own}") by name`,
    );
  }
  for (const name of names) {
    if (name !== own) {
      throw new XdsError(
        'XDS_PERMISSION_DENIED',
        `${describeCaller(caller)} may receive only the waypoint configuration "${own}", not "${name}"`,
      );
    }
  }
}
