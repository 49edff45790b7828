/**
 * Text forms of the raw addresses the workload protos carry, and the lookup
 * keys built from them: `<network>/<ip>` (the default network is the empty
 * string, so `"/10.0.0.5"`) and `<namespace>/<hostname>`.
 */
import { formatIp, isIpBytes } from '../../shared/net/index.js';

/** Canonical text of 4- or 16-byte IP bytes (dotted quad, RFC 5952 IPv6); undefined for other lengths. */
export function ipText(bytes: Uint8Array): string | undefined {
  return isIpBytes(bytes) ? formatIp(bytes) : undefined;
}

/** `<network>/<ip>`: how ztunnel and istiod key workloads and VIPs by address. */
export function networkAddressKey(network: string, bytes: Uint8Array): string | undefined {
  const ip = ipText(bytes);
  return ip === undefined ? undefined : `${network}/${ip}`;
}

/** `<namespace>/<hostname>`: a service's xDS name and a workload's `services` map key. */
export function namespacedHostname(namespace: string, hostname: string): string {
  return `${namespace}/${hostname}`;
}
