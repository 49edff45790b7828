/**
 * Checks for the field formats Kubernetes and Istio share: names, labels,
 * durations, ports, IPs and CIDRs, hostnames. Each `*Error` function returns
 * a plain message when the value is invalid and `undefined` when it is fine;
 * the `check*` helpers report into an `Issues` at a path.
 */
import { isIP } from 'node:net';
import { key as keyPath, type Issues } from './shape.js';

// ---------- Kubernetes names (k8s.io/apimachinery/pkg/util/validation) ----------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function dns1123LabelError(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 63) return `${JSON.stringify(v)} must be no more than 63 characters`;
  if (!DNS1123_LABEL.test(v)) {
    return `${JSON.stringify(v)} is not a valid DNS-1123 label: lower case alphanumeric characters or '-', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function dns1123SubdomainError(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 253) return `${JSON.stringify(v)} must be no more than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(v)) {
    return `${JSON.stringify(v)} is not a valid DNS-1123 subdomain: lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function dns1035LabelError(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 63) return `${JSON.stringify(v)} must be no more than 63 characters`;
  if (!DNS1035_LABEL.test(v)) {
    return `${JSON.stringify(v)} is not a valid DNS-1035 label: lower case alphanumeric characters or '-', starting with a letter and ending with an alphanumeric character`;
  }
  return undefined;
}

/** A Kubernetes port name (IANA_SVC_NAME): at most 15 characters, at least one letter, no "--". */
export function ianaSvcNameError(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 15) return `${JSON.stringify(v)} must be no more than 15 characters`;
  if (!IANA_SVC_NAME.test(v)) {
    return `${JSON.stringify(v)} must contain only lower case alphanumeric characters or '-', starting and ending with an alphanumeric character`;
  }
  if (v.includes('--')) return `${JSON.stringify(v)} must not contain consecutive hyphens`;
  if (!/[a-z]/.test(v)) return `${JSON.stringify(v)} must contain at least one letter`;
  return undefined;
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name a qualified name. */
export function labelKeyError(k: string): string | undefined {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined) {
    const e = dns1123SubdomainError(prefix);
    if (e !== undefined) return `invalid key ${JSON.stringify(k)}: prefix ${e}`;
  }
  if (name.length === 0) return `invalid key ${JSON.stringify(k)}: name part must not be empty`;
  if (name.length > 63)
    return `invalid key ${JSON.stringify(k)}: name part must be no more than 63 characters`;
  if (!QUALIFIED_NAME.test(name)) {
    return `invalid key ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

export function labelValueError(v: string): string | undefined {
  if (v.length === 0) return undefined;
  if (v.length > 63) return `invalid label value ${JSON.stringify(v)}: must be no more than 63 characters`;
  if (!QUALIFIED_NAME.test(v)) {
    return `invalid label value ${JSON.stringify(v)}: must be empty or consist of alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

/** Checks every key and value of a label map, each at `path["key"]`. */
export function checkLabels(
  issues: Issues,
  path: string,
  labels: Readonly<Record<string, string>> | undefined,
): void {
  if (labels === undefined) return;
  for (const [k, v] of Object.entries(labels)) {
    const p = keyPath(path, k);
    const ke = labelKeyError(k);
    if (ke !== undefined) issues.add(p, ke);
    const ve = labelValueError(v);
    if (ve !== undefined) issues.add(p, ve);
  }
}

/**
 * An Istio workload selector's labels: valid labels, no empty key and no
 * wildcard (Istio matches selector labels literally).
 */
export function checkSelectorLabels(
  issues: Issues,
  path: string,
  labels: Readonly<Record<string, string>> | undefined,
): void {
  if (labels === undefined) return;
  for (const [k, v] of Object.entries(labels)) {
    const p = keyPath(path, k);
    if (k === '') {
      issues.add(p, 'empty key is not supported in selector');
      continue;
    }
    if (k.includes('*') || v.includes('*')) {
      issues.add(p, `wildcard is not supported in selector: "${k}=${v}"`);
      continue;
    }
    const ke = labelKeyError(k);
    if (ke !== undefined) issues.add(p, ke);
    const ve = labelValueError(v);
    if (ve !== undefined) issues.add(p, ve);
  }
}

// ---------- durations ----------

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const DURATION_PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration the way Istio's CRDs accept it (Go's time.ParseDuration:
 * `10s`, `1.5s`, `100ms`, `1m30s`, `1h`). Returns nanoseconds, or undefined
 * when the text is not a duration.
 */
export function parseDurationNs(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (m === null) return undefined;
    const num = m[1] ?? '';
    const unit = m[2] ?? '';
    if (num === '' || num === '.') return undefined;
    total += Number(num) * (UNIT_NS[unit] ?? NaN);
    pos = DURATION_PART.lastIndex;
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

/**
 * Istio's rule for proto durations (ValidateDuration): at least 1ms and a
 * whole number of milliseconds.
 */
export function durationError(text: string): string | undefined {
  const ns = parseDurationNs(text);
  if (ns === undefined) {
    return `${JSON.stringify(text)} is not a duration (expected e.g. "1s", "100ms", "1m30s")`;
  }
  if (ns < 1e6) return `duration ${JSON.stringify(text)} must be at least 1ms`;
  if (Math.round(ns) % 1e6 !== 0)
    return `duration ${JSON.stringify(text)}: only durations to ms precision are supported`;
  return undefined;
}

/** A duration that may also be zero (used where zero means "disabled"). */
export function nonNegativeDurationError(text: string): string | undefined {
  const ns = parseDurationNs(text);
  if (ns === undefined) {
    return `${JSON.stringify(text)} is not a duration (expected e.g. "1s", "100ms", "1m30s")`;
  }
  if (ns < 0) return `duration ${JSON.stringify(text)} must not be negative`;
  return undefined;
}

export function checkDuration(issues: Issues, path: string, text: string | undefined): void {
  if (text === undefined) return;
  const e = durationError(text);
  if (e !== undefined) issues.add(path, e);
}

// ---------- ports ----------

export function portError(n: number): string | undefined {
  return Number.isInteger(n) && n >= 1 && n <= 65535
    ? undefined
    : `port number ${n} must be in the range 1..65535`;
}

export function checkPort(issues: Issues, path: string, n: number | undefined): void {
  if (n === undefined) return;
  const e = portError(n);
  if (e !== undefined) issues.add(path, e);
}

/** A port written as text (AuthorizationPolicy ports, `destination.port` values): decimal 0..65535. */
export function portStringError(s: string): string | undefined {
  if (!/^[0-9]+$/.test(s) || Number(s) > 65535)
    return `bad port ${JSON.stringify(s)}: must be a number in 0..65535`;
  return undefined;
}

// ---------- IPs and CIDRs ----------

/** An IP address (v4 or v6, no prefix length). */
export function ipError(s: string): string | undefined {
  return isIP(s) === 0 ? `${JSON.stringify(s)} is not a valid IP address` : undefined;
}

export function cidrError(s: string): string | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return `${JSON.stringify(s)} is not a valid CIDR block`;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return `${JSON.stringify(s)} is not a valid CIDR block`;
  const max = family === 4 ? 32 : 128;
  if (Number(bits) > max)
    return `${JSON.stringify(s)} is not a valid CIDR block (prefix length above ${max})`;
  return undefined;
}

/** Either an IP address or a CIDR block, as Istio's ValidateIPSubnet accepts. */
export function ipOrCidrError(s: string): string | undefined {
  return s.includes('/') ? cidrError(s) : ipError(s);
}

// ---------- hostnames (istio/istio pkg/config/validation/agent) ----------

// Istio's DNS label format accepts upper case letters too.
const ISTIO_DNS_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const ISTIO_WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

function istioLabelOk(label: string): boolean {
  return label.length <= 63 && ISTIO_DNS_LABEL.test(label);
}

function dnsLabelsError(domain: string, whole: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^[0-9]+$/.test(tld)) {
    return `domain name ${JSON.stringify(whole)} invalid (top level domain ${JSON.stringify(tld)} cannot be all-numeric)`;
  }
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    // A trailing dot (`istio.io.`) is allowed.
    if (i === parts.length - 1 && label === '' && i > 0) return undefined;
    if (!istioLabelOk(label))
      return `domain name ${JSON.stringify(whole)} invalid (label ${JSON.stringify(label)} invalid)`;
  }
  return undefined;
}

function domainPreconditionError(name: string): string | undefined {
  if (name.length > 255) return `domain name ${JSON.stringify(name)} too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

/** A fully qualified or short DNS name without wildcards. */
export function fqdnError(name: string): string | undefined {
  return domainPreconditionError(name) ?? dnsLabelsError(name, name);
}

/**
 * A host name that may carry a wildcard only in its leftmost label (`*`,
 * `*.example.com`, `*-foo.example.com`); short names are allowed.
 */
export function wildcardDomainError(name: string): string | undefined {
  const pre = domainPreconditionError(name);
  if (pre !== undefined) return pre;
  const dot = name.indexOf('.');
  const first = dot < 0 ? name : name.slice(0, dot);
  if (first.length > 63 || !ISTIO_WILDCARD_LABEL.test(first)) {
    return `domain name ${JSON.stringify(name)} invalid (label ${JSON.stringify(first)} invalid)`;
  }
  return dot < 0 ? undefined : dnsLabelsError(name.slice(dot + 1), name);
}

/** `foo*.example.com` style wildcards: only `*` or a `*.` prefix are allowed where Istio forbids partial wildcards. */
export function partialWildcardError(name: string): string | undefined {
  if (name.includes('*') && name !== '*' && !name.startsWith('*.'))
    return `partial wildcard ${JSON.stringify(name)} not allowed`;
  return undefined;
}

/**
 * A Gateway server host: `[namespace/]dnsName`, namespace `*`, `.` or a DNS
 * label; dnsName `*`, an FQDN (short names are not allowed) with an optional
 * leading `*.`, or an IP address.
 */
export function gatewayHostError(host: string): string | undefined {
  const slash = host.indexOf('/');
  let dnsName = host;
  if (slash >= 0) {
    const ns = host.slice(0, slash);
    dnsName = host.slice(slash + 1);
    if (ns === '' || dnsName === '') return 'config namespace and dnsName in host entry cannot be empty';
    if (ns !== '*' && ns !== '.' && !istioLabelOk(ns))
      return `invalid namespace value ${JSON.stringify(ns)} in gateway`;
  }
  if (isIP(dnsName) !== 0) return undefined;
  if (dnsName !== '*' && !dnsName.includes('.'))
    return `short names (non FQDN) are not allowed: ${JSON.stringify(dnsName)}`;
  return wildcardDomainError(dnsName) ?? partialWildcardError(dnsName);
}

/** A gateway reference in a VirtualService: `mesh`, `name`, or `namespace/name` (both DNS labels). */
export function gatewayRefError(ref: string): string | undefined {
  const slash = ref.indexOf('/');
  if (slash < 0) return fqdnError(ref);
  const ns = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  if (ns === '' || name === '') return 'config namespace and gateway name cannot be empty';
  if (!istioLabelOk(ns)) return `invalid value for namespace: ${JSON.stringify(ns)}`;
  if (!istioLabelOk(name)) return `invalid value for gateway name: ${JSON.stringify(name)}`;
  return undefined;
}

/** An Istio port name (ValidatePortName): a DNS label. */
export function istioPortNameError(name: string): string | undefined {
  if (name.length <= 63 && ISTIO_DNS_LABEL.test(name)) return undefined;
  return `invalid port name: ${JSON.stringify(name)}`;
}

// ---------- protocols ----------

const ISTIO_PROTOCOLS = new Set([
  'tcp',
  'udp',
  'grpc',
  'grpc-web',
  'http',
  'http_proxy',
  'http2',
  'https',
  'tls',
  'mongo',
  'redis',
  'mysql',
]);

/** Istio's protocol names, compared case-insensitively (pkg/config/protocol). */
export function istioProtocolError(p: string): string | undefined {
  if (ISTIO_PROTOCOLS.has(p.toLowerCase())) return undefined;
  return `unsupported protocol ${JSON.stringify(p)}; supported: HTTP, HTTPS, HTTP2, GRPC, GRPC-Web, HTTP_PROXY, TCP, TLS, UDP, Mongo, Redis, MySQL`;
}

export function isHttpProtocol(p: string): boolean {
  return ['http', 'http2', 'grpc', 'grpc-web', 'http_proxy'].includes(p.toLowerCase());
}

export function isTlsProtocol(p: string): boolean {
  return ['https', 'tls'].includes(p.toLowerCase());
}

/** Export-to visibility values: `.`, `*`, `~` (ServiceEntry only) or a namespace name. */
export function checkExportTo(
  issues: Issues,
  path: string,
  values: readonly string[] | undefined,
  allowNone: boolean,
): void {
  if (values === undefined) return;
  const seen = new Set<string>();
  values.forEach((v, i) => {
    const p = `${path}[${i}]`;
    if (seen.has(v)) issues.add(p, `duplicate entries in exportTo for entry ${JSON.stringify(v)}`);
    seen.add(v);
    if (v === '.' || v === '*') return;
    if (v === '~') {
      if (!allowNone) issues.add(p, 'exportTo "~" is only allowed for ServiceEntry');
      return;
    }
    const e = dns1123LabelError(v);
    if (e !== undefined) issues.add(p, `invalid exportTo value: ${e}`);
  });
  if (seen.has('*') && values.length > 1)
    issues.add(path, 'cannot have both public (*) and non-public exportTo values');
  if (seen.has('~') && values.length > 1) issues.add(path, 'cannot export to no one (~) and someone');
}
