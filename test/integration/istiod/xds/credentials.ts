/**
 * Client credentials for istiod's TLS xDS port in tests: the mesh root to
 * verify istiod, and what the caller authenticates with — a bearer token in
 * the `authorization` metadata (as the node agent sends it), a client
 * certificate, both, or nothing.
 */
import * as grpc from '@grpc/grpc-js';

export interface XdsCallerCredentials {
  /** The root that verifies istiod's serving certificate. */
  readonly rootPem: string;
  /** Sent as `authorization: Bearer <token>`; a raw header value with `authorization`. */
  readonly token?: string;
  /** A raw `authorization` value (to send malformed ones). */
  readonly authorization?: string;
  /** A client certificate chain and its key. */
  readonly client?: { readonly chainPem: string; readonly keyPem: string };
}

export function xdsCredentials(c: XdsCallerCredentials): grpc.ChannelCredentials {
  const ssl = grpc.credentials.createSsl(
    Buffer.from(c.rootPem),
    c.client === undefined ? null : Buffer.from(c.client.keyPem),
    c.client === undefined ? null : Buffer.from(c.client.chainPem),
  );
  const authorization = c.authorization ?? (c.token === undefined ? undefined : `Bearer ${c.token}`);
  if (authorization === undefined) return ssl;
  const perCall = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const md = new grpc.Metadata();
    md.set('authorization', authorization);
    callback(null, md);
  });
  return grpc.credentials.combineChannelCredentials(ssl, perCall);
}
