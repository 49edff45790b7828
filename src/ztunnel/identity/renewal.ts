/**
 * Certificate rotation reaching every place that serves a certificate:
 * each one the manager issues (renewals included) is pushed to every user
 * serving that identity, which switches its listener to it (new handshakes
 * get the new chain, established sessions keep theirs). Clients need no
 * push: a new HBONE dial fetches the identity's current certificate.
 */
import type { CertificateManager } from './manager.js';

/** Something that serves with an identity's certificate (a pod proxy's HBONE listener). */
export interface CertificateUser {
  /** The SPIFFE URI it serves as; undefined until it knows. */
  readonly currentIdentity: string | undefined;
  /** Takes up the identity's current certificate. */
  refresh(): Promise<void>;
}

/**
 * Subscribes `users` (read at each issue, so users added later are seen) to
 * the manager's certificates; returns the unsubscribe function. A user that
 * fails to switch is reported to `onFailure` and does not stop the others.
 */
export function pushRenewals<U extends CertificateUser>(
  manager: CertificateManager,
  users: () => Iterable<U>,
  onFailure: (err: unknown, user: U) => void,
): () => void {
  return manager.onIssued((cert) => {
    for (const user of users()) {
      if (user.currentIdentity !== cert.identity) continue;
      user.refresh().catch((err: unknown) => onFailure(err, user));
    }
  });
}
