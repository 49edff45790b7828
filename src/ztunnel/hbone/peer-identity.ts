/**
 * SPIFFE identities from X.509 certificates as Node presents them
 * (`subjectAltName`: "URI:spiffe://td/ns/x/sa/y, DNS:...").
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { parseSpiffeId, type SpiffeId } from '../../shared/spiffe.js';
import { HboneError } from './errors.js';

/** The URI SANs of a certificate, in order. */
export function uriSans(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san === undefined) return [];
  const out: string[] = [];
  // Node quotes entries containing separators as JSON strings: URI:"spiffe://a,b".
  const re = /(?:^|,\s*)URI:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(san); m !== null; m = re.exec(san)) {
    const v = m[1] ?? '';
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

/** The one SPIFFE identity of a verified peer; anything else is an identity error. */
export function peerSpiffeId(socket: TLSSocket, trustDomain: string): { uri: string; id: SpiffeId } {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) throw new HboneError('HBONE_IDENTITY_ERROR', 'peer presented no certificate');
  const uris = uriSans(cert).filter((u) => u.startsWith('spiffe://'));
  if (uris.length !== 1) {
    throw new HboneError('HBONE_IDENTITY_ERROR', `peer certificate has ${uris.length} SPIFFE URI SANs; exactly one is required`);
  }
  const uri = uris[0]!;
  const id = parseSpiffeId(uri);
  if (id.trustDomain !== trustDomain) {
    throw new HboneError('HBONE_IDENTITY_ERROR', `peer identity ${uri} is not in trust domain ${trustDomain}`);
  }
  return { uri, id };
}
