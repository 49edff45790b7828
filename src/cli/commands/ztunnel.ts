/**
 * `ambit ztunnel`: the node agent. Flags fall back to the environment the
 * DaemonSet sets (NODE_NAME, POD_NAME, POD_NAMESPACE, INSTANCE_IP). Runs
 * until SIGINT/SIGTERM or POST /quitquitquit, then drains and exits 0.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { logLevelOption, untilSignal } from '../role-process.js';
import {
  DEFAULT_ADMIN_ADDR,
  DEFAULT_BPF_INSTANCE,
  DEFAULT_BPFFS_ROOT,
  DEFAULT_CLUSTER_ID,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HBONE_MAX_CONNECTIONS,
  DEFAULT_HBONE_MAX_HEADER_LIST_BYTES,
  DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
  DEFAULT_MAX_PENDING_HBONE_ACCEPTS,
  DEFAULT_ENROLL_SOCKET,
  DEFAULT_READINESS_ADDR,
  DEFAULT_RECORDS_FILE,
  DEFAULT_ROOT_CERT_FILE,
  DEFAULT_SECRET_TTL,
  SECRET_TTL_ENV,
  DEFAULT_STATS_ADDR,
  DEFAULT_TRUST_DOMAIN,
  DEFAULT_XDS_ADDRESS,
  ZtunnelConfigError,
  hostOf,
  parseAddr,
  parseTtlSeconds,
  parseIntFlag,
  requireNonEmpty,
  type ZtunnelConfig,
} from '../../ztunnel/index.js';
import { startAgent } from '../../ztunnel/index.js';
import { DEFAULT_ENROLLMENT_LIMITS, EnrollError, resolveEnrollmentLimits, type EnrollmentLimits } from '../../ztunnel/index.js';
import { createLogger, parseLogLevel } from '../../shared/logging.js';
import { EXIT_USAGE } from '../exit-codes.js';

interface ZtunnelFlags {
  xdsAddress: string;
  caAddress?: string;
  xdsPlaintext?: boolean;
  istiodName?: string;
  rootCert: string;
  tokenFile?: string;
  nodeName?: string;
  podName?: string;
  podNamespace: string;
  instanceIp?: string;
  trustDomain: string;
  clusterId: string;
  instance: string;
  bpffsRoot: string;
  enrollSocket: string;
  recordsFile: string;
  enrollIdleTimeoutMs: string;
  enrollMaxFrameBytes: string;
  enrollMaxConnections: string;
  podCgroupRoot: string;
  adminAddr: string;
  statsAddr: string;
  readinessAddr: string;
  secretTtl?: string;
  logLevel: string;
  hboneHandshakeTimeoutMs: string;
  hboneMaxConnections: string;
  hboneMaxStreams: string;
  hboneMaxPendingAccepts: string;
  hboneMaxHeaderBytes: string;
}

function readFileFlag(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function enrollLimitsFromFlags(f: ZtunnelFlags): EnrollmentLimits {
  try {
    return resolveEnrollmentLimits({
      idleTimeoutMs: parseIntFlag('--enroll-idle-timeout-ms', f.enrollIdleTimeoutMs),
      maxFrameBytes: parseIntFlag('--enroll-max-frame-bytes', f.enrollMaxFrameBytes),
      maxConnections: parseIntFlag('--enroll-max-connections', f.enrollMaxConnections),
      podCgroupRoot: f.podCgroupRoot,
    });
  } catch (err) {
    if (err instanceof EnrollError) throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', err.message, { cause: err });
    throw err;
  }
}

function configFromFlags(f: ZtunnelFlags): ZtunnelConfig {
  const nodeName = requireNonEmpty('--node-name (or NODE_NAME)', f.nodeName ?? process.env.NODE_NAME);
  const rootCertPem = readFileFlag('--root-cert', f.rootCert);
  if (!rootCertPem.includes('BEGIN CERTIFICATE')) {
    throw new ZtunnelConfigError('ZTUNNEL_BAD_FLAG', `--root-cert ${f.rootCert}: no PEM certificate in it`);
  }
  const token = f.tokenFile === undefined ? undefined : readFileFlag('--token-file', f.tokenFile).trim();
  const caAddress = f.caAddress ?? f.xdsAddress;
  for (const [flag, v] of [['--xds-address', f.xdsAddress], ['--ca-address', caAddress]] as const) parseAddr(flag, v);
  const envTtl = process.env[SECRET_TTL_ENV];
  const secretTtlSeconds =
    f.secretTtl !== undefined
      ? parseTtlSeconds('--secret-ttl', f.secretTtl)
      : envTtl !== undefined && envTtl !== ''
        ? parseTtlSeconds(SECRET_TTL_ENV, envTtl)
        : parseTtlSeconds('--secret-ttl', DEFAULT_SECRET_TTL);
  return Object.freeze({
    nodeName,
    podName: f.podName ?? process.env.POD_NAME ?? `ztunnel-${nodeName}`,
    podNamespace: f.podNamespace,
    instanceIp: f.instanceIp ?? process.env.INSTANCE_IP ?? '127.0.0.1',
    xdsAddress: f.xdsAddress,
    caAddress,
    xdsPlaintext: f.xdsPlaintext === true,
    istiodServerName: f.istiodName ?? hostOf(caAddress),
    rootCertPem,
    token,
    trustDomain: f.trustDomain,
    clusterId: f.clusterId,
    bpfInstance: f.instance,
    bpffsRoot: f.bpffsRoot,
    enrollSocket: f.enrollSocket,
    recordsFile: f.recordsFile,
    enrollLimits: enrollLimitsFromFlags(f),
    adminAddr: parseAddr('--admin-addr', f.adminAddr),
    statsAddr: parseAddr('--stats-addr', f.statsAddr),
    readinessAddr: parseAddr('--readiness-addr', f.readinessAddr),
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    secretTtlSeconds,
    hboneLimits: Object.freeze({
      handshakeTimeoutMs: parseIntFlag('--hbone-handshake-timeout-ms', f.hboneHandshakeTimeoutMs),
      maxConnections: parseIntFlag('--hbone-max-connections', f.hboneMaxConnections),
      maxStreamsPerConnection: parseIntFlag('--hbone-max-streams', f.hboneMaxStreams, 1, 2 ** 31 - 1),
      maxPendingAccepts: parseIntFlag('--hbone-max-pending-accepts', f.hboneMaxPendingAccepts, 0),
      maxHeaderListBytes: parseIntFlag('--hbone-max-header-bytes', f.hboneMaxHeaderBytes, 1024, 2 ** 31 - 1),
    }),
  });
}

export function registerZtunnel(program: Command): void {
  program
    .command('ztunnel')
    .description('run the node agent: eBPF capture, HBONE tunnels, L4 authorization, metrics')
    .option('--xds-address <host:port>', "istiod's xDS address (15012 TLS, or 15010 with --xds-plaintext)", DEFAULT_XDS_ADDRESS)
    .option('--ca-address <host:port>', "istiod's CA address (TLS; defaults to --xds-address)")
    .option('--xds-plaintext', 'use plaintext xDS (istiod 15010; for the local cluster only)')
    .option('--istiod-name <name>', "the name istiod's certificate must carry (defaults to the CA host)")
    .option('--root-cert <file>', 'mesh root certificate (PEM): verifies istiod and peers', DEFAULT_ROOT_CERT_FILE)
    .option('--token-file <file>', 'bootstrap token sent to istiod as a bearer token')
    .option('--node-name <name>', 'this node (default: $NODE_NAME)')
    .option('--pod-name <name>', "the agent's own pod name (default: $POD_NAME)")
    .option('--pod-namespace <ns>', "the agent's own namespace", process.env.POD_NAMESPACE ?? 'istio-system')
    .option('--instance-ip <ip>', "the agent's IP, for its xDS node id (default: $INSTANCE_IP)")
    .option('--trust-domain <domain>', 'SPIFFE trust domain of the mesh', DEFAULT_TRUST_DOMAIN)
    .option('--cluster-id <id>', 'cluster id', DEFAULT_CLUSTER_ID)
    .option('--instance <name>', 'name of the bpffs pin directory (/sys/fs/bpf/ambit/<name>)', DEFAULT_BPF_INSTANCE)
    .option('--bpffs-root <dir>', 'where bpffs is mounted', DEFAULT_BPFFS_ROOT)
    .option('--enroll-socket <path>', 'Unix socket the CNI plugin enrolls pods on', DEFAULT_ENROLL_SOCKET)
    .option('--records-file <path>', 'where enrolled pods are recorded for adoption after a restart', DEFAULT_RECORDS_FILE)
    .option('--enroll-idle-timeout-ms <ms>', 'close an enrollment connection idle this long', String(DEFAULT_ENROLLMENT_LIMITS.idleTimeoutMs))
    .option('--enroll-max-frame-bytes <n>', 'largest enrollment frame accepted', String(DEFAULT_ENROLLMENT_LIMITS.maxFrameBytes))
    .option('--enroll-max-connections <n>', 'most concurrent enrollment connections', String(DEFAULT_ENROLLMENT_LIMITS.maxConnections))
    .option('--pod-cgroup-root <dir>', 'enrolled pods\' cgroups must lie strictly under this directory', DEFAULT_ENROLLMENT_LIMITS.podCgroupRoot)
    .option('--admin-addr <host:port>', 'admin listener (/config_dump, /logging)', DEFAULT_ADMIN_ADDR)
    .option('--stats-addr <host:port>', 'Prometheus metrics listener', DEFAULT_STATS_ADDR)
    .option('--readiness-addr <host:port>', 'readiness listener (/healthz/ready)', DEFAULT_READINESS_ADDR)
    .option(
      '--secret-ttl <duration>',
      `workload certificate lifetime asked of the CA, e.g. 60s, 30m, 24h (default: $${SECRET_TTL_ENV}, else ${DEFAULT_SECRET_TTL}); istiod caps it at its --max-cert-ttl`,
    )
    .option('--hbone-handshake-timeout-ms <ms>', 'TLS handshake deadline on 15008 (also the wait for a pod certificate)', String(DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS))
    .option('--hbone-max-connections <n>', 'concurrent HBONE connections per pod', String(DEFAULT_HBONE_MAX_CONNECTIONS))
    .option('--hbone-max-streams <n>', 'concurrent CONNECT streams per HBONE connection', String(DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION))
    .option('--hbone-max-pending-accepts <n>', 'HBONE connections held per pod while its certificate is not ready', String(DEFAULT_MAX_PENDING_HBONE_ACCEPTS))
    .option('--hbone-max-header-bytes <n>', 'HTTP/2 header list size accepted on 15008', String(DEFAULT_HBONE_MAX_HEADER_LIST_BYTES))
    .addOption(logLevelOption())
    .action(async (flags: ZtunnelFlags) => {
      let config: ZtunnelConfig;
      try {
        config = configFromFlags(flags);
      } catch (err) {
        process.stderr.write(`ambit ztunnel: ${(err as Error).message}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const logger = createLogger(parseLogLevel(flags.logLevel), 'ztunnel');
      const agent = await startAgent(config, logger);
      // Ends on a signal, or when POST /quitquitquit stopped the agent from inside.
      await Promise.race([agent.stopped, untilSignal(logger)]);
      await agent.stop();
      logger.flush();
    });
}
