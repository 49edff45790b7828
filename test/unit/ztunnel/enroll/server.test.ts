import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnrollError, EnrollmentServer, type PodInfo, type PodListeners, type RegisteredPod } from '../../../../src/ztunnel/enroll/index.js';
import { Registry } from 'prom-client';
import { FakePodCapture } from './fake-pod-capture.js';

describe('EnrollmentServer (with a fake PodCapture)', () => {
  let dir: string;
  let fake: FakePodCapture;
  const servers: EnrollmentServer[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-enroll-unit-'));
    fake = new FakePodCapture();
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    await fake.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  function pod(n: number, extra: Partial<PodInfo> = {}): PodInfo {
    const netnsPath = join(dir, `netns-${n}`);
    writeFileSync(netnsPath, '', { flag: 'a' });
    return {
      uid: `uid-${n}`,
      name: `pod-${n}`,
      namespace: 'default',
      netnsPath,
      cgroupPath: `/sys/fs/cgroup/unified/test/pod-${n}`,
      ips: [`10.251.0.${n + 1}`],
      ...extra,
    };
  }

  async function started(): Promise<EnrollmentServer> {
    const s = new EnrollmentServer({ capture: fake, socketPath: join(dir, 'ztunnel.sock'), recordsFile: join(dir, 'pods.json') });
    servers.push(s);
    await s.start();
    return s;
  }

  it('opens 15001 on both loopbacks and 15006/15008 on the wildcard, falling back to IPv4 when IPv6 is missing', async () => {
    fake.failAddresses = new Set(['::1', '::']);
    const s = await started();
    await s.addPod(pod(1));
    assert.deepEqual(
      fake.listens.map((l) => `${l.address}:${l.port}`),
      ['127.0.0.1:15001', '::1:15001', ':::15006', '0.0.0.0:15006', ':::15008', '0.0.0.0:15008'],
    );
    const entry = s.registry.findByUid('uid-1');
    assert.equal(entry?.listeners.outbound.length, 1);
    assert.equal(fake.attached.get('uid-1')?.inbound, entry?.listeners.inboundPlaintext);
  });

  it('uses the IPv6 listeners when the pod has IPv6', async () => {
    fake.failAddresses = new Set();
    const s = await started();
    await s.addPod(pod(1));
    assert.deepEqual(
      fake.listens.map((l) => l.address),
      ['127.0.0.1', '::1', '::', '::'],
    );
    assert.equal(s.registry.findByUid('uid-1')?.listeners.outbound.length, 2);
  });

  it('announces a new pod with its listeners and indexes it by UID and IP', async () => {
    const s = await started();
    const added: [RegisteredPod, PodListeners][] = [];
    s.on('podAdded', (p, l) => added.push([p, l]));
    await s.addPod(pod(1));
    assert.equal(added.length, 1);
    assert.equal(added[0]?.[0].info.uid, 'uid-1');
    assert.equal(s.registry.findByIp('10.251.0.2')?.info.uid, 'uid-1');
  });

  it('treats a repeated AddPod for the same netns as a no-op', async () => {
    const s = await started();
    let added = 0;
    s.on('podAdded', () => added++);
    await s.addPod(pod(1));
    await s.addPod(pod(1));
    assert.equal(added, 1);
    assert.equal(fake.openServers().length, 3);
  });

  it('replaces the enrollment when the same UID arrives with a new netns', async () => {
    const s = await started();
    const events: string[] = [];
    s.on('podAdded', (p) => events.push(`add ${p.info.uid}`));
    s.on('podRemoved', (uid) => events.push(`del ${uid}`));
    const first = pod(1);
    await s.addPod(first);
    unlinkSync(first.netnsPath);
    writeFileSync(join(dir, 'other'), '');
    writeFileSync(first.netnsPath, '');
    await s.addPod(first);
    assert.deepEqual(events, ['add uid-1', 'del uid-1', 'add uid-1']);
    assert.equal(fake.openServers().length, 3);
  });

  it('removes a pod: detaches, announces, closes its listeners', async () => {
    const s = await started();
    const removed: string[] = [];
    s.on('podRemoved', (uid) => removed.push(uid));
    await s.addPod(pod(1));
    await s.delPod('uid-1');
    assert.deepEqual(removed, ['uid-1']);
    assert.equal(s.registry.size, 0);
    assert.equal(fake.attached.size, 0);
    assert.equal(fake.openServers().length, 0);
  });

  it('accepts DelPod for an unknown UID without announcing anything', async () => {
    const s = await started();
    let removed = 0;
    s.on('podRemoved', () => removed++);
    await s.delPod('nobody');
    assert.equal(removed, 0);
  });

  it('closes the listeners it opened when attaching fails, and reports ENROLL_CAPTURE_FAILED', async () => {
    const s = await started();
    fake.failAttach.add('uid-1');
    await assert.rejects(s.addPod(pod(1)), (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_CAPTURE_FAILED');
    assert.equal(fake.openServers().length, 0);
    assert.equal(s.registry.size, 0);
  });

  it('reconciles a snapshot: adds the new, keeps the known, removes the rest', async () => {
    const s = await started();
    await s.addPod(pod(1));
    await s.addPod(pod(2));
    const removed: string[] = [];
    s.on('podRemoved', (uid) => removed.push(uid));
    assert.equal(s.snapshotReceived, false);
    await s.applySnapshot([pod(2), pod(3)]);
    assert.deepEqual(s.registry.list().map((p) => p.info.uid), ['uid-2', 'uid-3']);
    assert.deepEqual(removed, ['uid-1']);
    assert.deepEqual([...fake.attached.keys()].sort(), ['uid-2', 'uid-3']);
    assert.equal(s.snapshotReceived, true);
  });

  it('applies the rest of a snapshot when one pod fails, and names the failed pod', async () => {
    const s = await started();
    fake.failNetns.add(pod(2).netnsPath);
    await assert.rejects(
      s.applySnapshot([pod(1), pod(2), pod(3)]),
      (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_SNAPSHOT_PARTIAL' && e.message.includes('uid-2'),
    );
    assert.deepEqual(s.registry.list().map((p) => p.info.uid), ['uid-1', 'uid-3']);
  });

  it('adopts pinned pods after a restart, re-attaching new listeners, and releases pins without a netns', async () => {
    const s1 = await started();
    await s1.addPod(pod(1));
    await s1.addPod(pod(2));
    const oldInbound = fake.attached.get('uid-1')?.inbound;
    await s1.close();
    // Closing keeps redirection attached (fails closed) but closes listeners.
    assert.deepEqual([...fake.attached.keys()].sort(), ['uid-1', 'uid-2']);
    assert.equal(fake.openServers().length, 0);
    unlinkSync(pod(2).netnsPath);
    const s2 = await started();
    assert.deepEqual(s2.registry.list().map((p) => [p.info.uid, p.adopted]), [['uid-1', true]]);
    assert.notEqual(fake.attached.get('uid-1')?.inbound, oldInbound);
    assert.equal(fake.attached.get('uid-1')?.inbound.listening, true);
    assert.deepEqual([...fake.attached.keys()], ['uid-1']);
    assert.deepEqual(fake.detaches, ['uid-2']);
  });

  it('refuses to start when another agent answers on the socket', async () => {
    await started();
    const second = new EnrollmentServer({ capture: fake, socketPath: join(dir, 'ztunnel.sock'), recordsFile: null });
    servers.push(second);
    await assert.rejects(second.start(), (e: unknown) => e instanceof EnrollError && e.code === 'ENROLL_SOCKET_IN_USE');
  });

  it('takes over a stale socket file left by a dead agent', async () => {
    writeFileSync(join(dir, 'ztunnel.sock'), '');
    await started();
  });

  it('counts proxies started and stopped and reports the active count, with ztunnel metric names', async () => {
    const metrics = new Registry();
    const s = new EnrollmentServer({ capture: fake, socketPath: join(dir, 'm.sock'), recordsFile: null, metrics });
    servers.push(s);
    await s.start();
    await s.addPod(pod(1));
    await s.addPod(pod(2));
    await s.delPod('uid-1');
    const text = await metrics.metrics();
    const value = (name: string): string | undefined => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    assert.deepEqual(
      [
        value('workload_manager_active_proxy_count'),
        value('workload_manager_pending_proxy_count'),
        value('workload_manager_proxies_started_total'),
        value('workload_manager_proxies_stopped_total'),
      ],
      ['1', '0', '2', '1'],
    );
  });

  it('dumps workloadState by pod UID with name, namespace and service account', async () => {
    const s = await started();
    await s.addPod(pod(2, { serviceAccount: 'sa-2' }));
    await s.addPod(pod(1));
    assert.deepEqual(s.configDump(), {
      'uid-1': { state: 'Up', info: { name: 'pod-1', namespace: 'default', serviceAccount: '' } },
      'uid-2': { state: 'Up', info: { name: 'pod-2', namespace: 'default', serviceAccount: 'sa-2' } },
    });
    assert.deepEqual(Object.keys(s.configDump()), ['uid-1', 'uid-2']);
  });
});
