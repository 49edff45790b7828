/**
 * Who may ask the CA for what, in file mode: node agents present a bootstrap
 * token that names their node, and may obtain only the identities of
 * workloads scheduled on that node (Istio's rule for ztunnel impersonation).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { Metadata } from '@grpc/grpc-js';
import { parse as parseYaml } from 'yaml';
import { CaError } from './errors.js';

/** The identities (SPIFFE URIs) of the workloads on each node; the ambient index implements it. */
export interface NodeIdentityLookup {
  identitiesOnNode(node: string): ReadonlySet<string>;
}

/** An authenticated caller. */
export type Caller = { readonly kind: 'node'; readonly node: string };

/**
 * Turns a call's metadata into a Caller, or throws CA_UNAUTHENTICATED saying
 * why. May answer asynchronously (e.g. after a Kubernetes TokenReview).
 */
export interface CallerAuthenticator {
  authenticate(metadata: Metadata): Caller | Promise<Caller>;
}

/** Tokens shorter than this are refused when the file is loaded: they would be guessable. */
export const MIN_TOKEN_LENGTH = 16;

export interface NodeTokenEntry {
  readonly token: string;
  readonly node: string;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Bearer-token authentication against a tokens file.
 *
 * The file is YAML (and so JSON too, JSON being a subset of YAML):
 *
 *     tokens:
 *       - token: "9c1f0e6b2d6a4f3e8a7b"   # at least 16 characters
 *         node: node-1
 *
 * Callers send `authorization: Bearer <token>` as gRPC metadata. Tokens are
 * kept only as SHA-256 digests, so a lookup compares digests, not secrets.
 */
export class NodeTokenAuthenticator implements CallerAuthenticator {
  private readonly nodesByDigest: ReadonlyMap<string, string>;
  private readonly source: string;

  constructor(entries: readonly NodeTokenEntry[], source = 'tokens') {
    const byDigest = new Map<string, string>();
    entries.forEach((entry, i) => {
      const at = `${source}: tokens[${i}]`;
      if (typeof entry.token !== 'string' || entry.token.length < MIN_TOKEN_LENGTH) {
        throw new CaError(
          'CA_TOKENS_INVALID',
          `${at}.token: must be a string of at least ${MIN_TOKEN_LENGTH} characters`,
        );
      }
      if (typeof entry.node !== 'string' || entry.node.length === 0) {
        throw new CaError('CA_TOKENS_INVALID', `${at}.node: must be a non-empty node name`);
      }
      const d = digest(entry.token);
      const existing = byDigest.get(d);
      if (existing !== undefined && existing !== entry.node) {
        throw new CaError('CA_TOKENS_INVALID', `${at}.token: already maps to node ${existing}`);
      }
      byDigest.set(d, entry.node);
    });
    this.nodesByDigest = byDigest;
    this.source = source;
  }

  /** Reads and validates a tokens file (see the class comment for its shape). */
  static async fromFile(file: string): Promise<NodeTokenAuthenticator> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      throw new CaError('CA_TOKENS_INVALID', `${file}: cannot be read: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new CaError('CA_TOKENS_INVALID', `${file}: not valid YAML or JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const tokens = (doc as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(tokens))
      throw new CaError('CA_TOKENS_INVALID', `${file}: tokens: must be a list of {token, node}`);
    return new NodeTokenAuthenticator(
      tokens.map((t: unknown, i) => {
        if (t === null || typeof t !== 'object')
          throw new CaError('CA_TOKENS_INVALID', `${file}: tokens[${i}]: must be a mapping {token, node}`);
        const { token, node } = t as Record<string, unknown>;
        return { token: token as string, node: node as string };
      }),
      file,
    );
  }

  get size(): number {
    return this.nodesByDigest.size;
  }

  authenticate(metadata: Metadata): Caller {
    const values = metadata.get('authorization');
    if (values.length === 0) {
      throw new CaError(
        'CA_UNAUTHENTICATED',
        'no authorization metadata: send "authorization: Bearer <node token>"',
      );
    }
    const value = String(values[0]);
    const match = /^bearer\s+(\S+)\s*$/i.exec(value);
    if (match === null || match[1] === undefined) {
      throw new CaError(
        'CA_UNAUTHENTICATED',
        'authorization metadata is not of the form "Bearer <node token>"',
      );
    }
    const node = this.nodesByDigest.get(digest(match[1]));
    if (node === undefined)
      throw new CaError(
        'CA_UNAUTHENTICATED',
        `the bearer token is not one of the node tokens in ${this.source}`,
      );
    return { kind: 'node', node };
  }
}

/**
 * Istio's impersonation rule for node agents: a node may obtain an identity
 * only while a workload with that identity is scheduled on it.
 */
export function authorizeIdentity(caller: Caller, identity: string, lookup: NodeIdentityLookup): void {
  if (!lookup.identitiesOnNode(caller.node).has(identity)) {
    throw new CaError(
      'CA_PERMISSION_DENIED',
      `node ${caller.node} has no workload with identity ${identity}`,
    );
  }
}
