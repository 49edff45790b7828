/**
 * Certificate rotation end to end: istiod's real CA issues short-lived
 * certificates (the TTL the agent asks for), the manager renews them at
 * half-life, and the pod proxy's real HBONE listener serves each renewal:
 * the serial seen in a real TLS handshake changes, and a handshake after
 * the first certificate expired still succeeds.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { TunnelProtocol, WorkloadSchema } from '../../../../src/gen/istio/workload/workload_pb.js';
import { PolicySet } from '../../../../src/ztunnel/authz/index.js';
import { HbonePool } from '../../../../src/ztunnel/hbone/index.js';
import {
  CertificateManager,
  GrpcCaClient,
  pushRenewals,
  type WorkloadCertificate,
} from '../../../../src/ztunnel/identity/index.js';
import { LiveInbound, PodProxy, type LocalPod, type PodSockets, type ProxyContext } from '../../../../src/ztunnel/proxy/index.js';
import { ADDRESS_TYPE_URL, WorkloadStore } from '../../../../src/ztunnel/state/index.js';
import { LiveConnections, TrafficMetrics } from '../../../../src/ztunnel/telemetry/index.js';
import { decodeWorkload } from '../../../../src/ztunnel/xds/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import {
  FRONTEND_ID,
  FRONTEND_UID,
  ISTIOD_SERVER_NAME,
  NODE_ONE_TOKEN,
  startIstiodFixture,
  type IstiodFixture,
} from '../xds/istiod-fixture.js';

/** The lifetime the agent asks for: a few seconds, so renewal and expiry happen within the test. */
const TTL_SECONDS = 3;

/** The serial of the certificate the listener presents, from a real TLS 1.3 handshake with a client certificate. */
async function servedCertificate(
  port: number,
  client: WorkloadCertificate,
  maxVersion: tls.SecureVersion = 'TLSv1.3',
): Promise<{ serial: string; protocol: string }> {
  const socket = tls.connect({
    maxVersion,
    host: '127.0.0.1',
    port,
    key: client.keyPem,
    cert: client.certChainPem,
    ca: client.rootPem,
    ALPNProtocols: ['h2'],
    // The peer's SPIFFE URI is checked by the HBONE client, not by a hostname.
    checkServerIdentity: () => undefined,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return { serial: socket.getPeerCertificate().serialNumber, protocol: socket.getProtocol() ?? '' };
  } finally {
    socket.destroy();
  }
}

/** Resolves with the next certificate the manager issues for `identity` (bounded). */
function nextIssued(manager: CertificateManager, identity: string, timeoutMs: number): Promise<WorkloadCertificate> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no certificate issued for ${identity} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = manager.onIssued((cert) => {
      if (cert.identity !== identity) return;
      clearTimeout(timer);
      off();
      resolve(cert);
    });
  });
}

const noSockets: PodSockets = {
  connectInPod: () => Promise.reject(new Error('no pod sockets in this test')),
  originalDestination: () => undefined,
  inboundDestination: (s) => ({ address: s.localAddress ?? '', port: s.localPort ?? 0 }),
};

describe('certificate rotation against the istiod CA', function () {
  this.timeout(30_000);
  let fx: IstiodFixture;
  let manager: CertificateManager;
  let proxy: PodProxy;
  const servers: net.Server[] = [];

  before(async () => {
    fx = await startIstiodFixture();
  });
  after(async () => {
    await proxy?.close();
    manager?.close();
    for (const s of servers) s.close();
    await fx?.cleanup();
  });

  it('serves every renewal on the HBONE listener: the handshake serial changes and a handshake after the first expiry succeeds', async () => {
    manager = new CertificateManager({
      ca: new GrpcCaClient({
        address: `127.0.0.1:${fx.istiod.ports.secureGrpc}`,
        rootPem: fx.istiod.rootPem,
        serverName: ISTIOD_SERVER_NAME,
        token: NODE_ONE_TOKEN,
      }),
      ttlSeconds: TTL_SECONDS,
      registry: new Registry(),
    });
    const store = new WorkloadStore('node-1');
    store.applyDelta({
      typeUrl: ADDRESS_TYPE_URL,
      upserts: [
        {
          kind: 'workload',
          workload: decodeWorkload(create(WorkloadSchema, {
            uid: FRONTEND_UID,
            name: 'frontend-7d4b9c-abcde',
            namespace: 'demo',
            serviceAccount: 'frontend',
            addresses: [new Uint8Array([10, 244, 1, 10])],
            tunnelProtocol: TunnelProtocol.HBONE,
            node: 'node-1',
          })),
        },
      ],
      removals: [],
    });
    const ctx: ProxyContext = {
      store,
      policies: new PolicySet(),
      certificates: {
        fetchMaterial: async (identity) => {
          const c = await manager.fetchCertificate(identity);
          return { keyPem: c.keyPem, certChainPem: c.certChainPem, rootPem: c.rootPem };
        },
      },
      pool: new HbonePool(),
      sockets: noSockets,
      metrics: new TrafficMetrics({ registry: new Registry(), logger: silentLogger, connections: new LiveConnections() }),
      logger: silentLogger,
      network: '',
      trustDomain: 'cluster.local',
      clusterId: 'Kubernetes',
      connectTimeoutMs: 2000,
    };
    const listener = (): Promise<net.Server> =>
      new Promise((resolve) => {
        const s = net.createServer();
        servers.push(s);
        s.listen(0, '127.0.0.1', () => resolve(s));
      });
    const hbone = await listener();
    const pod: LocalPod = { uid: 'uid-frontend', name: 'frontend-7d4b9c-abcde', namespace: 'demo', netnsPath: '/proc/self/ns/net', ips: ['10.244.1.10'] };
    proxy = new PodProxy(ctx, pod, { outbound: [await listener()], inboundPlaintext: await listener(), hbone }, new LiveInbound());
    const failures: unknown[] = [];
    pushRenewals(manager, () => [proxy], (err) => failures.push(err));

    const firstIssued = nextIssued(manager, FRONTEND_ID, 5000);
    manager.retain(FRONTEND_ID);
    const first = await firstIssued;
    assert.ok(first.notAfter.getTime() - Date.now() <= TTL_SECONDS * 1000 + 1000, `the requested ${TTL_SECONDS}s TTL was honoured (notAfter ${first.notAfter.toISOString()})`);
    await proxy.refresh();
    const port = (hbone.address() as AddressInfo).port;
    assert.deepEqual(await servedCertificate(port, first), { serial: first.serialHex, protocol: 'TLSv1.3' });

    // The renewal at half-life reaches the listener without anyone asking.
    const renewed = await nextIssued(manager, FRONTEND_ID, TTL_SECONDS * 1000);
    assert.notEqual(renewed.serialHex, first.serialHex);
    let served = await servedCertificate(port, renewed);
    for (let i = 0; i < 50 && served.serial !== renewed.serialHex; i++) {
      await new Promise((r) => setImmediate(r));
      served = await servedCertificate(port, renewed);
    }
    assert.deepEqual(served, { serial: renewed.serialHex, protocol: 'TLSv1.3' });
    await assert.rejects(servedCertificate(port, renewed, 'TLSv1.2'), 'a replaced context keeps the TLS 1.3 floor');

    // After the first certificate expired, handshakes still succeed (with whatever is current now).
    // Waiting for an absolute expiry time is the point here, not a guess at how long something takes.
    const waitMs = first.notAfter.getTime() + 1000 - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    assert.ok(Date.now() > first.notAfter.getTime());
    const current = await manager.fetchCertificate(FRONTEND_ID);
    const late = await servedCertificate(port, current);
    assert.notEqual(late.serial, first.serialHex);
    assert.deepEqual(failures, []);
  });
});
