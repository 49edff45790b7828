/**
 * Host name resolution as Istio does it for routing config: a short name is
 * relative to the config's namespace, a wildcard covers a suffix.
 */
export function resolveHost(host: string, namespace: string, domainSuffix: string): string {
  if (host.startsWith('*') || host.includes('.')) {
    // "reviews.default" is a Kubernetes short form Istio does not expand; keep as written.
    return host;
  }
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** Whether a (possibly wildcard) host pattern covers a concrete FQDN. */
export function hostCovers(pattern: string, fqdn: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) return fqdn.endsWith(pattern.slice(1));
  return pattern === fqdn;
}

export function serviceHostname(name: string, namespace: string, domainSuffix: string): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}
