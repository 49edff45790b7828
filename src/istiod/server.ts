/**
 * istiod as one process: the directory config source and/or the
 * Kubernetes API source feeding the ConfigStore, the ambient index, the xDS
 * server (15010 plaintext on loopback, 15012 TLS and authenticated), the CA
 * (15012 only), and monitoring
 * (15014). Start-up fails on the first error and undoes what it had started.
 */
import * as grpc from '@grpc/grpc-js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../shared/logging.js';
import { ConfigStore } from './config/store.js';
import { DirectorySource, type ConfigProblem } from './config/sources/directory.js';
import { KubeApiClient, KubernetesSource, loadKubeConfig, type KubeConfigProblem } from './config/sources/kubernetes/index.js';
import { keyOf } from './config/types.js';
import { formatHostPort, isLoopbackHost, type IstiodConfig } from './config.js';
import { AmbientIndex } from './index/index.js';
import { MeshXdsAuthenticator, XdsServer, listenXds, XDS_SERVER_OPTIONS, type XdsListeners } from './xds/index.js';
import {
  CaError,
  CaService,
  CertificateSigner,
  loadOrCreateCaMaterial,
  NodeTokenAuthenticator,
  type CallerAuthenticator,
} from './ca/index.js';
import { kubernetesSecurityFromEnv, startKubernetesSecurity } from './ca/kubernetes/index.js';
import { MonitoringServer } from './monitoring/server.js';
import { ConfigMetrics } from './monitoring/config-metrics.js';

/** The DNS names istiod's serving certificate carries (agents verify 15012 against the mesh root). */
export const ISTIOD_SERVING_NAMES = [
  'istiod.istio-system.svc',
  'istiod.istio-system.svc.cluster.local',
  'istiod',
  'localhost',
  '127.0.0.1',
  '::1',
];

export interface RunningIstiod {
  readonly store: ConfigStore;
  readonly index: AmbientIndex;
  readonly xds: XdsServer;
  /** Bound ports (useful when the configuration asked for port 0). */
  readonly ports: {
    readonly grpc: number;
    readonly secureGrpc: number;
    readonly monitoring: number;
    /** The admission webhook's port, when it runs (--kubernetes with a webhook address). */
    readonly webhook?: number;
  };
  /** The mesh root bundle (PEM) agents trust. */
  readonly rootPem: string;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** Refuses every CA call when no tokens file is configured, saying why. */
const noTokensAuthenticator: CallerAuthenticator = {
  authenticate() {
    throw new CaError('CA_UNAUTHENTICATED', 'istiod runs without --tokens: no node agent can authenticate to the CA');
  },
};

export async function startIstiod(config: IstiodConfig, logger: Logger): Promise<RunningIstiod> {
  const log = logger.child({ component: 'istiod' });
  const cleanups: (() => Promise<void> | void)[] = [];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const configMetrics = new ConfigMetrics(registry);

    const store = new ConfigStore();
    let dirProblems: readonly ConfigProblem[] = [];
    let kubeProblems: readonly KubeConfigProblem[] = [];
    // The gauge only reads each problem's kind; API objects have no file.
    const recordConfig = (): void =>
      configMetrics.record([...dirProblems, ...kubeProblems.map((p) => ({ ...p, file: '(kubernetes)' }))], store.size);
    if (config.configDir !== undefined) {
      const source = new DirectorySource(store, {
        dir: config.configDir,
        debounceMs: config.configDebounceMs,
        logger,
        onLoad: (p) => {
          dirProblems = p;
          recordConfig();
        },
      });
      await source.start();
      cleanups.push(() => source.stop());
    }
    if (config.kubernetes !== undefined) {
      const kube = new KubernetesSource(store, {
        client: new KubeApiClient(loadKubeConfig({ kubeconfig: config.kubernetes.kubeconfig })),
        logger,
        registry,
        onProblems: (p) => {
          kubeProblems = p;
          recordConfig();
        },
      });
      cleanups.push(() => kube.stop());
      // Serving before every kind is listed would push partial state (and policies without their pods).
      await kube.start();
      const unsubscribe = store.subscribe(() => recordConfig());
      cleanups.push(unsubscribe);
      recordConfig();
    }

    const index = new AmbientIndex(
      store,
      {
        trustDomain: config.trustDomain,
        clusterId: config.clusterId,
        rootNamespace: config.rootNamespace,
        domainSuffix: config.domainSuffix,
        network: '',
      },
      logger,
    );
    cleanups.push(() => index.close());

    // On Kubernetes the root lives in Secrets, node agents authenticate with TokenReview, the root
    // ConfigMaps are published and the admission webhook runs.
    const kubeSecurity =
      config.kubernetes !== undefined
        ? await startKubernetesSecurity({
            kubeConfig: loadKubeConfig({ kubeconfig: config.kubernetes.kubeconfig }),
            ...kubernetesSecurityFromEnv(),
            trustDomain: config.trustDomain,
            ...(config.webhookAddr !== undefined ? { webhook: config.webhookAddr } : {}),
            namespaceEvents: store,
            registry,
            logger,
          })
        : undefined;
    if (kubeSecurity !== undefined) cleanups.push(() => kubeSecurity.close());
    const material =
      kubeSecurity?.material ??
      (await loadOrCreateCaMaterial({ caDir: config.caDir, trustDomain: config.trustDomain, logger }));
    const signer = new CertificateSigner(material, {
      defaultTtlSeconds: config.workloadCertTtlSeconds,
      maxTtlSeconds: config.maxWorkloadCertTtlSeconds,
    });
    const serving = signer.issueServingCertificate(ISTIOD_SERVING_NAMES);
    const authenticator =
      kubeSecurity?.authenticator ??
      (config.tokensFile !== undefined ? await NodeTokenAuthenticator.fromFile(config.tokensFile) : noTokensAuthenticator);
    if (kubeSecurity === undefined && config.tokensFile === undefined) log.warn('no --tokens file: the CA refuses every caller');
    const ca = new CaService({ signer, authenticator, nodeIdentities: index, registry, logger });

    // 15012 authenticates every ADS stream with the CA's own authenticator (node token or TokenReview),
    // or a client certificate of a mesh identity; 15010 is plaintext for loopback clients.
    const xds = new XdsServer({
      source: index,
      logger,
      registry,
      debounceMs: config.pushDebounceMs,
      authenticator: new MeshXdsAuthenticator({ nodeTokens: authenticator, trustDomain: config.trustDomain }),
    });
    cleanups.push(() => xds.close(1000));

    // The CA lives only on the TLS server: a CSR never travels in plaintext.
    const tlsServer = new grpc.Server(XDS_SERVER_OPTIONS);
    ca.addToServer(tlsServer);
    // Ours, so ours to stop: the xDS listener closes only the servers it made.
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => tlsServer.forceShutdown(), 1000);
          tlsServer.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    );
    const listeners: XdsListeners = await listenXds(xds, {
      plaintextAddress: formatHostPort(config.grpcAddr),
      tlsAddress: formatHostPort(config.secureGrpcAddr),
      tls: { certChainPem: serving.chainPem, keyPem: serving.keyPem, rootPem: serving.rootPem },
      tlsServer,
    });
    cleanups.push(() => listeners.close());
    if (!isLoopbackHost(config.grpcAddr.host)) {
      log.warn(
        { address: formatHostPort(config.grpcAddr) },
        'plaintext xds is not on loopback: it is not authenticated, any client that reaches it gets every resource',
      );
    }

    let ready = false;
    const monitoring = new MonitoringServer({
      address: config.monitoringAddr,
      registry,
      logger,
      isReady: () => ready,
      debug: {
        syncz: () => xds.syncStatus(),
        configz: () => ({
          objects: store
            .all()
            .sort((a, b) => keyOf(a).localeCompare(keyOf(b)))
            .map((o) => ({ kind: o.kind, apiVersion: o.apiVersion, metadata: o.metadata, spec: o.spec, origin: o.origin })),
          problems: [...dirProblems, ...kubeProblems],
        }),
        ambientz: () => index.dump(),
      },
    });
    const monitoringPort = await monitoring.listen();
    cleanups.push(() => monitoring.close());
    ready = true;

    const ports = {
      grpc: listeners.plaintextPort ?? 0,
      secureGrpc: listeners.tlsPort ?? 0,
      monitoring: monitoringPort,
      ...(kubeSecurity?.webhookPort !== undefined ? { webhook: kubeSecurity.webhookPort } : {}),
    };
    log.info(
      {
        ...ports,
        configDir: config.configDir,
        kubernetes: config.kubernetes !== undefined,
        trustDomain: config.trustDomain,
        objects: store.size,
        problems: dirProblems.length + kubeProblems.length,
      },
      'istiod ready',
    );
    return {
      store,
      index,
      xds,
      ports,
      rootPem: serving.rootPem,
      registry,
      stop: async () => {
        ready = false;
        log.info('istiod stopping');
        await undo();
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
