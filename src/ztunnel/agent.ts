/**
 * The node agent ("ztunnel") as one process: pod enrollment with eBPF
 * capture, the delta xDS client feeding the workload store, workload
 * certificates from istiod's CA, the per-pod proxies (HBONE, outbound,
 * plaintext inbound), L4 authorization, metrics, admin and readiness.
 * Start-up fails on the first error and undoes what it had started.
 *
 * What decides traffic is in force before the agent reports ready: the
 * store's policy set is the enforcing one and denies until the first
 * Authorization push is applied; the store's listener is registered before
 * the xDS stream opens, so no push is ever missed. Every certificate the
 * manager issues (renewals included) is pushed to the pod proxies serving
 * that identity; new HBONE dials fetch the current one.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../shared/logging.js';
import { ambitVersion } from '../shared/version.js';
import type { PolicySet } from './authz/index.js';
import { AdminServer, LogLevelControl, Readiness, ReadinessServer, StatsServer } from './admin/index.js';
import { EnrollmentServer, redirectPodCapture, type PodListeners, type RegisteredPod } from './enroll/index.js';
import { HbonePool } from './hbone/index.js';
import { CertificateManager, GrpcCaClient, pushRenewals } from './identity/index.js';
import { LiveInbound, PodProxy, workloadOfPod, type LocalPod, type ProxyContext } from './proxy/index.js';
import { HBONE_SOCKET_OPTIONS, openRedirect, registerRedirectMetrics, type Redirect } from './redirect/index.js';
import { WorkloadStore, type StoreChange } from './state/index.js';
import { AgentMetrics, GuardMetrics, LiveConnections, TrafficMetrics, registerBuildInfo } from './telemetry/index.js';
import { XdsClient } from './xds/index.js';
import type { ZtunnelConfig } from './config.js';

export interface RunningAgent {
  readonly ports: { readonly admin: number; readonly stats: number; readonly readiness: number };
  readonly readiness: Readiness;
  readonly store: WorkloadStore;
  /** The set every inbound connection is authorized against (the store's own). */
  readonly policies: PolicySet;
  /** Resolves when every readiness task is done. */
  whenReady(timeoutMs: number): Promise<void>;
  /** Stops the agent (idempotent). */
  stop(): Promise<void>;
  /** Resolves once the agent has stopped, whoever asked (a caller, or POST /quitquitquit). */
  readonly stopped: Promise<void>;
}

export async function startAgent(config: ZtunnelConfig, logger: Logger): Promise<RunningAgent> {
  const log = logger.child({ component: 'agent' });
  const cleanups: (() => Promise<void> | void)[] = [];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'shutdown step failed');
      }
    }
  };
  try {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerBuildInfo(registry, ambitVersion());
    const readiness = new Readiness();
    const stateReady = readiness.register('state manager');
    const bpfReady = readiness.register('bpf');
    const certsReady = readiness.register('certificate manager');

    const store = new WorkloadStore(config.nodeName);
    const live = new LiveInbound();
    const proxies = new Map<string, PodProxy>();

    // Local HTTP surfaces come up first, so an operator can see what start-up waits for.
    const logLevel = new LogLevelControl(logger);
    let stopping: Promise<void> | undefined;
    let markStopped: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (markStopped = resolve));
    const admin = new AdminServer({ logger, logLevel, shutdown: () => void requestStop() });
    const stats = new StatsServer({ registry, logger });
    const readyServer = new ReadinessServer({ readiness, logger });
    const ports = {
      readiness: await readyServer.listen(config.readinessAddr.host, config.readinessAddr.port),
      stats: await stats.listen(config.statsAddr.host, config.statsAddr.port),
      admin: await admin.listen(config.adminAddr.host, config.adminAddr.port),
    };
    cleanups.push(() => readyServer.close(), () => stats.close(), () => admin.close());

    // Workload state from istiod.
    const xds = new XdsClient({
      address: config.xdsAddress,
      ...(config.xdsPlaintext ? {} : { tls: { rootPem: config.rootCertPem, serverName: config.istiodServerName } }),
      ...(config.token !== undefined ? { token: config.token } : {}),
      clusterId: config.clusterId,
      agent: {
        ip: config.instanceIp,
        podName: config.podName,
        podNamespace: config.podNamespace,
        nodeName: config.nodeName,
        clusterId: config.clusterId,
      },
      store,
      registry,
      logger,
    });
    cleanups.push(() => xds.close());

    // Certificates from istiod's CA (always over TLS).
    const certificates = new CertificateManager({
      ca: new GrpcCaClient({
        address: config.caAddress,
        rootPem: config.rootCertPem,
        serverName: config.istiodServerName,
        ...(config.token !== undefined ? { token: config.token } : {}),
      }),
      ttlSeconds: config.secretTtlSeconds,
      // Its expiry gauge is exported through AgentMetrics below (one registration of the name).
      logger,
    });
    cleanups.push(() => certificates.close());
    certsReady();

    // Capture.
    const redirect: Redirect = await openRedirect({ instance: config.bpfInstance, bpffsRoot: config.bpffsRoot });
    cleanups.push(() => redirect.close());
    registerRedirectMetrics(registry, () => redirect.counters());
    bpfReady();

    const connections = new LiveConnections();
    const metrics = new TrafficMetrics({ registry, logger, connections });
    const agentMetrics = new AgentMetrics({ registry, connections });
    agentMetrics.setXdsProvider({
      connected: () => xds.status().connected,
      resourceCounts: () => Object.fromEntries(xds.status().types.map((t) => [t.typeUrl, t.resources])),
    });
    agentMetrics.setCertificateProvider(() =>
      certificates
        .dump()
        .filter((c) => c.notAfter !== undefined)
        .map((c) => ({ identity: c.identity, notAfterMs: Date.parse(c.notAfter as string) })),
    );
    const pool = new HbonePool({ connectTimeoutMs: config.connectTimeoutMs, logger });
    cleanups.push(() => pool.close());

    const ctx: ProxyContext = {
      store,
      // The store's own set: what istiod sent is what is enforced.
      policies: store.policies,
      certificates: {
        fetchMaterial: async (identity) => {
          const c = await certificates.fetchCertificate(identity);
          return { keyPem: c.keyPem, certChainPem: c.certChainPem, rootPem: c.rootPem };
        },
      },
      pool,
      sockets: {
        connectInPod: async (pod, ip, port, purpose = 'app') => {
          const socket = await redirect.connectInPod(pod.netnsPath, ip, port, {
            timeoutMs: config.connectTimeoutMs,
            ...(purpose === 'hbone' ? HBONE_SOCKET_OPTIONS : {}),
          });
          // Both the app upstreams and the HBONE connections: no Nagle delays in a proxy.
          socket.setNoDelay(true);
          return socket;
        },
        originalDestination: (socket, pod) => redirect.originalDestination(socket, pod.netnsPath),
        inboundDestination: (socket) => ({ address: socket.localAddress ?? '', port: socket.localPort ?? 0 }),
      },
      metrics,
      logger,
      network: '',
      trustDomain: config.trustDomain,
      clusterId: config.clusterId,
      connectTimeoutMs: config.connectTimeoutMs,
      guards: new GuardMetrics(registry),
      limits: config.hboneLimits,
    };

    // Identities held for enrolled pods (reference counted by the manager).
    const heldIdentity = new Map<string, string>();
    const syncIdentity = (uid: string, pod: LocalPod): void => {
      const identity = workloadOfPod(ctx, pod)?.identityUri;
      const held = heldIdentity.get(uid);
      if (identity === held) return;
      if (held !== undefined) certificates.release(held);
      if (identity === undefined) heldIdentity.delete(uid);
      else {
        certificates.retain(identity);
        heldIdentity.set(uid, identity);
      }
    };
    const refreshPod = (uid: string, proxy: PodProxy): void => {
      syncIdentity(uid, proxy.pod);
      proxy.refresh().catch((err: unknown) => log.warn({ err, pod: `${proxy.pod.namespace}/${proxy.pod.name}` }, 'pod proxy not ready'));
    };

    // Live connections and pod proxies follow the store: one pass per push. Registered
    // before the stream opens, so the first push (and every later one) is seen.
    store.onChange((change: StoreChange) => {
      const closed = live.recheck(store.policies);
      if (closed > 0) log.info({ closed }, 'connections closed by a policy change');
      if (change.workloads.added.length + change.workloads.updated.length + change.workloads.removed.length > 0) {
        for (const [uid, proxy] of proxies) refreshPod(uid, proxy);
      }
    });
    // A renewed certificate reaches every listener serving its identity before the old one expires.
    const stopRenewals = pushRenewals(certificates, () => proxies.values(), (err, proxy) =>
      log.warn({ err, pod: `${proxy.pod.namespace}/${proxy.pod.name}` }, 'pod proxy kept its old certificate'),
    );
    cleanups.push(stopRenewals);
    xds.start();
    xds.waitForInitialSync().then(
      () => {
        // The first pushes are applied: the policies are in force (the set stopped denying),
        // so connections let through before are checked against them, then ready.
        const closed = live.recheck(store.policies);
        if (closed > 0) log.info({ closed }, 'connections closed by the initial policies');
        log.info({ ...store.size }, 'workload state in force');
        stateReady();
      },
      (err: unknown) => log.error({ err }, 'xds never synced'),
    );

    const enrollment = new EnrollmentServer({
      capture: redirectPodCapture(redirect),
      socketPath: config.enrollSocket,
      recordsFile: config.recordsFile,
      logger,
      metrics: registry,
      limits: config.enrollLimits,
    });
    enrollment.on('podAdded', (pod: RegisteredPod, listeners: PodListeners) => {
      const local: LocalPod = {
        uid: pod.info.uid,
        name: pod.info.name,
        namespace: pod.info.namespace,
        netnsPath: pod.info.netnsPath,
        ips: pod.info.ips,
      };
      void proxies.get(local.uid)?.close();
      const proxy = new PodProxy(ctx, local, listeners, live);
      proxies.set(local.uid, proxy);
      refreshPod(local.uid, proxy);
      log.info({ pod: `${local.namespace}/${local.name}`, uid: local.uid, ips: local.ips, adopted: pod.adopted }, 'pod proxy started');
    });
    enrollment.on('podRemoved', (uid: string) => {
      const proxy = proxies.get(uid);
      proxies.delete(uid);
      const held = heldIdentity.get(uid);
      if (held !== undefined) certificates.release(held);
      heldIdentity.delete(uid);
      void proxy?.close();
      log.info({ uid }, 'pod proxy stopped');
    });
    await enrollment.start();
    cleanups.push(async () => {
      await enrollment.close();
      await Promise.all([...proxies.values()].map((p) => p.close()));
      proxies.clear();
    });

    admin.registerConfigDump('workloads', () => store.dump().workloads);
    admin.registerConfigDump('services', () => store.dump().services);
    admin.registerConfigDump('policies', () => store.dump().policies);
    admin.registerConfigDump('certificates', () => certificates.dump());
    admin.registerConfigDump('connections', () => connections.dump());
    admin.registerConfigDump('workloadState', () => enrollment.configDump());
    admin.registerConfigDump('bpf', () => jsonSafe(redirect.status()));
    admin.registerConfigDump('xds', () => xds.status());
    admin.registerConfigDump('node', () => ({ name: config.nodeName, instance: config.bpfInstance, trustDomain: config.trustDomain }));

    const stop = async (): Promise<void> => {
      log.info('agent stopping');
      await undo();
      markStopped();
    };
    const requestStop = (): Promise<void> => (stopping ??= stop());

    log.info({ node: config.nodeName, instance: config.bpfInstance, xds: config.xdsAddress, ...ports }, 'agent started');
    return {
      ports,
      readiness,
      store,
      policies: store.policies,
      whenReady: async (timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        while (!readiness.isReady()) {
          if (Date.now() > deadline) throw new Error(`agent not ready after ${timeoutMs} ms: pending ${readiness.pending().join(', ')}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      stop: requestStop,
      stopped,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** BigInts (netns cookies, cgroup ids) as decimal strings, for JSON. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}
