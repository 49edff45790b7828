/**
 * Istio `Gateway` (networking.istio.io): servers with their ports, hosts and
 * TLS settings (ValidateGateway, validateServer, validateTLSOptions). The
 * spec is stored as validated plain data for the ingress gateway.
 */
import type { L7Spec } from '../types.js';
import {
  ANY,
  BOOL,
  STRING,
  STRING_MAP,
  STRINGS,
  UINT32,
  arr,
  enumOf,
  field,
  index,
  obj,
  type Issues,
} from './shape.js';
import {
  checkLabels,
  checkPort,
  gatewayHostError,
  ipError,
  isHttpProtocol,
  isTlsProtocol,
  istioProtocolError,
} from './fields.js';
import { NETWORKING_VERSIONS, type KindValidator } from './validator.js';

const TLS_VERSIONS = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

const SERVER_TLS = obj({
  httpsRedirect: BOOL,
  mode: enumOf('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
  serverCertificate: STRING,
  privateKey: STRING,
  caCertificates: STRING,
  caCrl: STRING,
  credentialName: STRING,
  credentialNames: STRINGS,
  tlsCertificates: arr(obj({ serverCertificate: STRING, privateKey: STRING, caCertificates: STRING })),
  subjectAltNames: STRINGS,
  verifyCertificateSpki: STRINGS,
  verifyCertificateHash: STRINGS,
  minProtocolVersion: enumOf(...TLS_VERSIONS),
  maxProtocolVersion: enumOf(...TLS_VERSIONS),
  cipherSuites: STRINGS,
});

const SPEC = obj({
  selector: STRING_MAP,
  servers: arr(
    obj({
      port: obj({ number: UINT32, protocol: STRING, name: STRING, targetPort: UINT32 }),
      bind: STRING,
      hosts: STRINGS,
      tls: SERVER_TLS,
      defaultEndpoint: STRING,
      name: STRING,
    }),
  ),
});

interface ServerTls {
  readonly httpsRedirect?: boolean;
  readonly mode?: string;
  readonly serverCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly caCrl?: string;
  readonly credentialName?: string;
  readonly credentialNames?: readonly string[];
  readonly tlsCertificates?: readonly unknown[];
}
interface Server {
  readonly port?: {
    readonly number?: number;
    readonly protocol?: string;
    readonly name?: string;
    readonly targetPort?: number;
  };
  readonly bind?: string;
  readonly hosts?: readonly string[];
  readonly tls?: ServerTls;
}
interface RawSpec {
  readonly selector?: Readonly<Record<string, string>>;
  readonly servers?: readonly Server[];
}

const UNIX_PREFIX = 'unix://';

function set(v: string | undefined): boolean {
  return v !== undefined && v !== '';
}

function checkTls(issues: Issues, path: string, tls: ServerTls): void {
  const mode = tls.mode ?? 'PASSTHROUGH';
  const hasCredential =
    set(tls.credentialName) ||
    (tls.credentialNames?.length ?? 0) > 0 ||
    (tls.tlsCertificates?.length ?? 0) > 0;
  if (set(tls.credentialName) && (tls.credentialNames?.length ?? 0) > 0) {
    issues.add(field(path, 'credentialNames'), 'only one of credentialName or credentialNames may be set');
  }
  if (mode === 'ISTIO_MUTUAL') {
    for (const f of ['serverCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const) {
      if (set(tls[f])) issues.add(field(path, f), `ISTIO_MUTUAL TLS cannot have an associated ${f}`);
    }
    return;
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && hasCredential) {
    if (set(tls.caCrl) && set(tls.credentialName)) {
      issues.add(
        field(path, 'caCrl'),
        'CRL is not supported with credentialName; it has to be in the credential',
      );
    }
    return;
  }
  if (mode === 'SIMPLE') {
    if (!set(tls.serverCertificate))
      issues.add(
        field(path, 'serverCertificate'),
        'SIMPLE TLS requires a server certificate (or credentialName)',
      );
    if (!set(tls.privateKey))
      issues.add(field(path, 'privateKey'), 'SIMPLE TLS requires a private key (or credentialName)');
    if (set(tls.caCrl)) issues.add(field(path, 'caCrl'), 'CRL is not supported with SIMPLE TLS');
  } else if (mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') {
    if (!set(tls.serverCertificate))
      issues.add(
        field(path, 'serverCertificate'),
        'MUTUAL TLS requires a server certificate (or credentialName)',
      );
    if (!set(tls.privateKey))
      issues.add(field(path, 'privateKey'), 'MUTUAL TLS requires a private key (or credentialName)');
    if (!set(tls.caCertificates))
      issues.add(field(path, 'caCertificates'), 'MUTUAL TLS requires a client CA bundle (or credentialName)');
  }
}

function checkServer(issues: Issues, path: string, s: Server): void {
  if ((s.hosts?.length ?? 0) === 0)
    issues.add(field(path, 'hosts'), 'server config must contain at least one host');
  s.hosts?.forEach((h, i) => {
    const e = gatewayHostError(h);
    if (e !== undefined) issues.add(index(field(path, 'hosts'), i), e);
  });
  const bind = s.bind ?? '';
  const port = s.port;
  let portOk = false;
  if (port === undefined) {
    issues.add(field(path, 'port'), 'port is required');
  } else {
    const pp = field(path, 'port');
    const before = issues.count;
    const protocol = port.protocol ?? '';
    if (protocol === '') issues.add(field(pp, 'protocol'), 'protocol is required');
    else {
      const e = istioProtocolError(protocol);
      if (e !== undefined) issues.add(field(pp, 'protocol'), e);
    }
    if ((port.number ?? 0) > 0 || !bind.startsWith(UNIX_PREFIX))
      checkPort(issues, field(pp, 'number'), port.number ?? 0);
    if ((port.targetPort ?? 0) > 0)
      issues.add(field(pp, 'targetPort'), 'targetPort has no impact on Gateways');
    if ((port.name ?? '') === '') issues.add(field(pp, 'name'), 'port name must be set');
    portOk = issues.count === before;
  }
  if (bind.startsWith(UNIX_PREFIX)) {
    const socket = bind.slice(UNIX_PREFIX.length);
    if (socket === '' || (!socket.startsWith('@') && (!socket.startsWith('/') || socket.endsWith('/')))) {
      issues.add(field(path, 'bind'), `${JSON.stringify(socket)} is not an absolute path to a file`);
    }
    if ((port?.number ?? 0) !== 0)
      issues.add(field(path, 'port.number'), 'port number must be 0 for unix domain socket');
  } else if (bind !== '') {
    const e = ipError(bind);
    if (e !== undefined) issues.add(field(path, 'bind'), e);
  }
  if (s.tls !== undefined) checkTls(issues, field(path, 'tls'), s.tls);
  if (portOk && port !== undefined) {
    const protocol = port.protocol ?? '';
    if (isTlsProtocol(protocol) && s.tls === undefined) {
      issues.add(field(path, 'tls'), 'server must have TLS settings for HTTPS/TLS protocols');
    } else if (!isTlsProtocol(protocol) && s.tls !== undefined) {
      const tls = s.tls;
      const onlyRedirect =
        (tls.mode ?? 'PASSTHROUGH') === 'PASSTHROUGH' &&
        !set(tls.caCertificates) &&
        !set(tls.privateKey) &&
        !set(tls.serverCertificate);
      if (!isHttpProtocol(protocol))
        issues.add(field(path, 'tls'), 'server cannot have TLS settings for non HTTPS/TLS ports');
      else if (!onlyRedirect)
        issues.add(
          field(path, 'tls'),
          'server cannot have TLS settings for plain text HTTP ports (only httpsRedirect)',
        );
    }
  }
}

export const gatewayValidator: KindValidator<'Gateway'> = {
  kind: 'Gateway',
  apiVersions: NETWORKING_VERSIONS,
  namespaced: true,
  // Istio requires Gateway names to be DNS labels (no dots): `ns/name` references could not be told apart otherwise.
  nameRule: 'dns1123-label',
  topLevel: { spec: SPEC, status: ANY },
  build(top, _meta, issues) {
    const raw = (top['spec'] ?? {}) as RawSpec;
    if (top['spec'] === undefined) {
      issues.add('spec', 'spec is required');
      return { spec: {} };
    }
    checkLabels(issues, 'spec.selector', raw.selector);
    const servers = raw.servers ?? [];
    if (servers.length === 0) issues.add('spec.servers', 'gateway must have at least one server');
    const portNames = new Set<string>();
    servers.forEach((s, i) => {
      const p = index('spec.servers', i);
      checkServer(issues, p, s);
      const name = s.port?.name;
      if (name !== undefined && name !== '') {
        if (portNames.has(name))
          issues.add(field(p, 'port.name'), `port names in servers must be unique: duplicate name ${name}`);
        portNames.add(name);
      }
    });
    const spec: L7Spec = raw as L7Spec;
    return { spec };
  },
};
