/**
 * TLS server credentials for 15012 that ask for a client certificate without
 * requiring one, as istiod's: a node agent authenticates with its token, a
 * workload may present its mesh certificate. grpc-js's `createSsl` either
 * does not ask (and a certificate never reaches the call) or rejects clients
 * without one at the handshake; its certificate-provider credentials do
 * what is needed when handed fixed material.
 */
import * as grpc from '@grpc/grpc-js';
import type { XdsTlsMaterial } from './grpc-listen.js';

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = Parameters<CertificateProvider['addCaCertificateListener']>[0];
type IdentityListener = Parameters<CertificateProvider['addIdentityCertificateListener']>[0];

/**
 * Hands out one fixed root bundle and one fixed certificate chain with its
 * key. grpc-js registers its watcher only after adding these listeners, so
 * material handed over synchronously would never reach the server (which
 * then drops every connection): it is handed over on the next microtask.
 */
class FixedCertificateProvider implements CertificateProvider {
  constructor(
    private readonly rootPem: Buffer,
    private readonly chainPem: Buffer,
    private readonly keyPem: Buffer,
  ) {}

  addCaCertificateListener(listener: CaListener): void {
    queueMicrotask(() => listener({ caCertificate: this.rootPem }));
  }

  removeCaCertificateListener(): void {
    // Fixed material never changes, so no listener is kept.
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    queueMicrotask(() => listener({ certificate: this.chainPem, privateKey: this.keyPem }));
  }

  removeIdentityCertificateListener(): void {
    // As above.
  }
}

/**
 * The TLS credentials of an xDS listener: the serving chain, and, when
 * `rootPem` is given, client certificates requested (not required) and
 * verified against it.
 */
export function xdsServerCredentials(tls: XdsTlsMaterial): grpc.ServerCredentials {
  const chain = Buffer.from(tls.certChainPem);
  const key = Buffer.from(tls.keyPem);
  if (tls.rootPem === undefined) {
    return grpc.ServerCredentials.createSsl(null, [{ cert_chain: chain, private_key: key }], false);
  }
  const provider = new FixedCertificateProvider(Buffer.from(tls.rootPem), chain, key);
  // One provider serves both roles, so the order of grpc-js's two provider arguments does not matter.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
