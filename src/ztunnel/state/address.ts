/**
 * Text forms of the raw addresses the workload protos carry, and the lookup
 * keys built from them: `<network>/<ip>` (the default network is the empty
 * string, so `"/10.0.0.5"`) and `<namespace>/<hostname>`.
 */

/** Canonical text of 4- or 16-byte IP bytes (dotted quad, RFC 5952 IPv6); undefined for other lengths. */
export function ipText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // The WHATWG URL parser prints IPv6 hosts in RFC 5952 form (longest zero run as "::", lower case).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
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
