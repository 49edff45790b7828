/**
 * Reads the certificate a pod's HBONE listener (15008) serves, with a real
 * TLS 1.3 handshake from inside another pod's namespace. The probe presents
 * no client certificate: in TLS 1.3 the server's Certificate comes before the
 * client's, so the client sees the served chain even though the server then
 * refuses it.
 */
import type { NetnsCluster } from '../../src/mesh/cluster/index.js';

export interface ServedCertificate {
  readonly serialNumber: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly subjectAltName: string;
}

const PROBE_SCRIPT = `
const tls = require('node:tls');
const [host, port] = process.argv.slice(1);
const s = tls.connect({ host, port: Number(port), ALPNProtocols: ['h2'], minVersion: 'TLSv1.3', rejectUnauthorized: false });
const timer = setTimeout(() => { process.stderr.write('timeout'); process.exit(3); }, 5000);
s.once('secureConnect', () => {
  const c = s.getPeerCertificate();
  process.stdout.write(JSON.stringify({ serialNumber: c.serialNumber, validFrom: c.valid_from, validTo: c.valid_to, subjectAltName: c.subjectaltname }));
  clearTimeout(timer);
  s.destroy();
  process.exit(0);
});
s.on('error', (e) => { process.stderr.write(e.code || e.message); process.exit(2); });
`;

/** The leaf served on `ip:15008`, seen from inside `fromPod`. */
export async function servedCertificate(cluster: NetnsCluster, fromPod: string, ip: string, port = 15008): Promise<ServedCertificate> {
  const r = await cluster.execInPod(fromPod, [process.execPath, '-e', PROBE_SCRIPT, ip, String(port)], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`TLS probe from ${fromPod} to ${ip}:${port} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ServedCertificate;
}
