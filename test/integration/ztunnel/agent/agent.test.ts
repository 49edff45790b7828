/**
 * The whole node agent in-process against a real istiod: what decides
 * traffic must be in force when the agent says it is ready. Needs root
 * (the agent loads its eBPF programs under a pin directory of its own).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startAgent, type RunningAgent } from '../../../../src/ztunnel/agent.js';
import {
  DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HBONE_MAX_CONNECTIONS,
  DEFAULT_HBONE_MAX_HEADER_LIST_BYTES,
  DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
  DEFAULT_MAX_PENDING_HBONE_ACCEPTS,
  type ZtunnelConfig,
} from '../../../../src/ztunnel/config.js';
import { prepareConnection } from '../../../../src/ztunnel/authz/index.js';
import { DEFAULT_ENROLLMENT_LIMITS } from '../../../../src/ztunnel/enroll/index.js';
import { destroyInstance } from '../../../../src/ztunnel/redirect/index.js';
import type { WorkloadStore } from '../../../../src/ztunnel/state/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import {
  BACKEND_UID,
  FRONTEND_ID,
  ISTIOD_SERVER_NAME,
  NODE_TWO_TOKEN,
  startIstiodFixture,
  type IstiodFixture,
} from '../xds/istiod-fixture.js';

/** Resolves at the first store change after which `done` holds (bounded by `timeoutMs`). */
function untilStore(store: WorkloadStore, done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${what}: not within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = store.onChange(() => {
      if (!done()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

const DENY_FRONTEND = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-frontend
  namespace: demo
spec:
  selector:
    matchLabels:
      app: backend
  action: DENY
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/demo/sa/frontend"]
`;

/** frontend -> backend:8080 over HBONE, as the backend's agent sees it. */
const FRONTEND_TO_BACKEND = prepareConnection({
  sourceIp: '10.244.1.10',
  sourcePrincipal: FRONTEND_ID,
  destinationIp: '10.244.2.10',
  destinationPort: 8080,
});

describe('ztunnel agent against a real istiod', function () {
  this.timeout(30_000);
  let fx: IstiodFixture;
  let work: string;
  const instance = `a9p${randomBytes(3).toString('hex')}`;
  let agent: RunningAgent | undefined;

  before(async () => {
    fx = await startIstiodFixture();
    work = await mkdtemp(join(tmpdir(), 'a9p-agent-'));
  });
  after(async () => {
    await agent?.stop();
    await destroyInstance(instance);
    await fx?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  function config(): ZtunnelConfig {
    const local = { host: '127.0.0.1', port: 0 };
    return Object.freeze({
      nodeName: 'node-2',
      podName: 'ztunnel-node-2',
      podNamespace: 'istio-system',
      instanceIp: '127.0.0.1',
      xdsAddress: `127.0.0.1:${fx.istiod.ports.secureGrpc}`,
      caAddress: `127.0.0.1:${fx.istiod.ports.secureGrpc}`,
      xdsPlaintext: false,
      istiodServerName: ISTIOD_SERVER_NAME,
      rootCertPem: fx.istiod.rootPem,
      token: NODE_TWO_TOKEN,
      trustDomain: 'cluster.local',
      clusterId: 'Kubernetes',
      bpfInstance: instance,
      bpffsRoot: '/sys/fs/bpf',
      enrollSocket: join(work, 'enroll.sock'),
      recordsFile: join(work, 'records.json'),
      adminAddr: local,
      statsAddr: local,
      readinessAddr: local,
      connectTimeoutMs: 2000,
      secretTtlSeconds: 3600,
      enrollLimits: DEFAULT_ENROLLMENT_LIMITS,
      hboneLimits: {
        handshakeTimeoutMs: DEFAULT_HBONE_HANDSHAKE_TIMEOUT_MS,
        maxConnections: DEFAULT_HBONE_MAX_CONNECTIONS,
        maxStreamsPerConnection: DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
        maxPendingAccepts: DEFAULT_MAX_PENDING_HBONE_ACCEPTS,
        maxHeaderListBytes: DEFAULT_HBONE_MAX_HEADER_LIST_BYTES,
      },
    });
  }

  it('enforces a DENY that istiod held before the agent started, by the time it reports ready', async () => {
    await writeFile(join(fx.configDir, 'deny-frontend.yaml'), DENY_FRONTEND);
    const deadline = Date.now() + 5000;
    while (!JSON.stringify(fx.istiod.index.dump()).includes('deny-frontend')) {
      assert.ok(Date.now() < deadline, 'istiod indexed the DENY');
      await new Promise((r) => setTimeout(r, 20));
    }

    agent = await startAgent(config(), silentLogger);
    // Until the policies arrived, nothing is let through.
    const early = agent.policies.check({ namespace: 'demo', authorizationPolicies: [] }, FRONTEND_TO_BACKEND);
    if (!agent.readiness.isReady()) assert.equal(early.reason, 'policies-not-synced');

    await agent.whenReady(10_000);
    const backend = agent.store.findWorkload(BACKEND_UID);
    assert.ok(backend, 'the backend workload is in the store');
    assert.ok(backend.authorizationPolicies.includes('demo/deny-frontend'));
    const decision = agent.policies.check(backend, FRONTEND_TO_BACKEND);
    assert.deepEqual([decision.kind, decision.policy, decision.reason], ['deny', 'demo/deny-frontend', 'denied-by-policy']);

    // The DENY leaves: the connection is allowed by the remaining ALLOW, through the same set.
    await rm(join(fx.configDir, 'deny-frontend.yaml'));
    const a = agent;
    await untilStore(a.store, () => a.policies.find('demo/deny-frontend') === undefined, 5000, 'DENY removed from the enforcing set');
    assert.equal(agent.policies.check(agent.store.findWorkload(BACKEND_UID)!, FRONTEND_TO_BACKEND).kind, 'allow');
  });
});
