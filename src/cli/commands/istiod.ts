/**
 * `ambit istiod`: the control plane on a directory of YAML (the embedded
 * default) or on a Kubernetes API server (`--kubernetes`, in-cluster config
 * in a pod or `--kubeconfig`). Runs until SIGINT/SIGTERM, then drains and
 * exits 0.
 */
import type { Command } from 'commander';
import { logLevelOption, untilSignal } from '../role-process.js';
import {
  DEFAULT_CA_DIR,
  DEFAULT_CLUSTER_ID,
  DEFAULT_CONFIG_DEBOUNCE_MS,
  DEFAULT_DOMAIN_SUFFIX,
  DEFAULT_GRPC_ADDR,
  DEFAULT_MAX_WORKLOAD_CERT_TTL_SECONDS,
  DEFAULT_MONITORING_ADDR,
  DEFAULT_PUSH_DEBOUNCE_MS,
  DEFAULT_ROOT_NAMESPACE,
  DEFAULT_SECURE_GRPC_ADDR,
  DEFAULT_TRUST_DOMAIN,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  IstiodConfigError,
  parseHostPort,
  parseSeconds,
  validateIstiodConfig,
  type IstiodConfig,
} from '../../istiod/index.js';
import { startIstiod } from '../../istiod/index.js';
import { DEFAULT_WEBHOOK_ADDR } from '../../istiod/index.js';
import { createLogger, parseLogLevel } from '../../shared/logging.js';
import { EXIT_USAGE } from '../exit-codes.js';

interface IstiodFlags {
  configDir?: string;
  kubernetes?: boolean;
  kubeconfig?: string;
  caDir: string;
  trustDomain: string;
  tokens?: string;
  rootNamespace: string;
  clusterId: string;
  domainSuffix: string;
  grpcAddr: string;
  secureGrpcAddr: string;
  monitoringAddr: string;
  webhookAddr: string;
  certTtl: string;
  maxCertTtl: string;
  pushDebounceMs: string;
  logLevel: string;
}

function configFromFlags(f: IstiodFlags): IstiodConfig {
  const debounce = Number(f.pushDebounceMs);
  if (!Number.isInteger(debounce) || debounce < 0) {
    throw new IstiodConfigError('ISTIOD_BAD_FLAG', `--push-debounce-ms "${f.pushDebounceMs}": not a non-negative integer`);
  }
  if (f.kubeconfig !== undefined && f.kubernetes !== true) {
    throw new IstiodConfigError('ISTIOD_BAD_FLAG', '--kubeconfig is only used with --kubernetes');
  }
  return validateIstiodConfig({
    configDir: f.configDir,
    kubernetes: f.kubernetes === true ? { kubeconfig: f.kubeconfig } : undefined,
    caDir: f.caDir,
    trustDomain: f.trustDomain,
    tokensFile: f.tokens,
    rootNamespace: f.rootNamespace,
    clusterId: f.clusterId,
    domainSuffix: f.domainSuffix,
    grpcAddr: parseHostPort('--grpc-addr', f.grpcAddr),
    secureGrpcAddr: parseHostPort('--secure-grpc-addr', f.secureGrpcAddr),
    monitoringAddr: parseHostPort('--monitoring-addr', f.monitoringAddr),
    webhookAddr: f.kubernetes === true ? parseHostPort('--webhook-addr', f.webhookAddr) : undefined,
    workloadCertTtlSeconds: parseSeconds('--cert-ttl', f.certTtl),
    maxWorkloadCertTtlSeconds: parseSeconds('--max-cert-ttl', f.maxCertTtl),
    pushDebounceMs: debounce,
    configDebounceMs: DEFAULT_CONFIG_DEBOUNCE_MS,
  });
}

export function registerIstiod(program: Command): void {
  program
    .command('istiod')
    .description('run the control plane: config from a YAML directory or the Kubernetes API, delta xDS, the CA, monitoring')
    .option('--config-dir <dir>', 'directory of Kubernetes/Istio YAML or JSON, watched for changes (required without --kubernetes)')
    .option('--kubernetes', 'watch the Kubernetes API server (in-cluster config when running in a pod)')
    .option('--kubeconfig <file>', 'kubeconfig for --kubernetes outside a pod')
    .option('--ca-dir <dir>', 'where the root CA is created and kept (or a plug-in intermediate is read)', DEFAULT_CA_DIR)
    .option('--trust-domain <domain>', 'SPIFFE trust domain of the mesh', DEFAULT_TRUST_DOMAIN)
    .option('--tokens <file>', 'node tokens file mapping bearer tokens to node names, for CA and TLS xDS callers')
    .option('--root-namespace <ns>', 'mesh root namespace (mesh-wide policies live here)', DEFAULT_ROOT_NAMESPACE)
    .option('--cluster-id <id>', 'cluster id used in workload uids', DEFAULT_CLUSTER_ID)
    .option('--domain-suffix <suffix>', 'DNS suffix of service hostnames', DEFAULT_DOMAIN_SUFFIX)
    .option('--grpc-addr <host:port>', 'plaintext xDS listener, not authenticated: keep it on loopback', DEFAULT_GRPC_ADDR)
    .option('--secure-grpc-addr <host:port>', 'TLS xDS and CA listener; every caller authenticates (node token or mesh certificate)', DEFAULT_SECURE_GRPC_ADDR)
    .option('--monitoring-addr <host:port>', 'metrics, /debug/* and /ready listener', DEFAULT_MONITORING_ADDR)
    .option('--webhook-addr <host:port>', 'validating admission webhook (HTTPS) listener, with --kubernetes', DEFAULT_WEBHOOK_ADDR)
    .option('--cert-ttl <duration>', 'default workload certificate lifetime', `${DEFAULT_WORKLOAD_CERT_TTL_SECONDS}s`)
    .option('--max-cert-ttl <duration>', 'longest workload certificate lifetime granted', `${DEFAULT_MAX_WORKLOAD_CERT_TTL_SECONDS}s`)
    .option('--push-debounce-ms <ms>', 'quiet period before an xDS push', String(DEFAULT_PUSH_DEBOUNCE_MS))
    .addOption(logLevelOption())
    .action(async (flags: IstiodFlags) => {
      let config: IstiodConfig;
      try {
        config = configFromFlags(flags);
      } catch (err) {
        process.stderr.write(`ambit istiod: ${(err as Error).message}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const logger = createLogger(parseLogLevel(flags.logLevel), 'istiod');
      const istiod = await startIstiod(config, logger);
      await untilSignal(logger);
      await istiod.stop();
      logger.flush();
    });
}
