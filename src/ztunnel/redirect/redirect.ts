/**
 * The capture layer's implementation: loads and pins the eBPF objects once
 * per instance, attaches them per pod, and keeps the maps in step with the
 * enrolled pods. See index.ts for the public surface.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connectFd } from './connect.js';
import { RedirectError } from './errors.js';
import {
  LISTENER_INBOUND_PLAINTEXT,
  MAX_EXCLUDED_CIDRS,
  MAX_EXCLUDED_PORTS,
  decodeOrigDst,
  encodeListenersKey,
  encodePodAddrsKey,
  encodePodAddrsValue,
  encodePodsKey,
  encodePodsValue,
  encodeTupleDstKey,
  LAYOUT,
  parseAddress,
  parseCidr,
  type Cidr,
  type RawAddress,
} from './layout.js';
import { DEFAULT_OBJECT_DIR, loadAddon, type AttachType, type NativeAddon } from './native.js';
import {
  ATTACH_TYPES,
  MAP_NAMES,
  PinnedMaps,
  UID_PATTERN,
  linkPin,
  podPinDir,
  zeroCounters,
  type MapFds,
  type MapName,
} from './pins.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  PACKET_MARK,
  defaultListenerTuning,
  type ConnectOptions,
  type EnrolledPod,
  type ListenAddress,
  type OriginalDestination,
  type PodEnrollment,
  type Redirect,
  type RedirectCounters,
  type RedirectOptions,
  type RedirectStatus,
  type SocketOptions,
} from './types.js';

export const DEFAULT_BPFFS_ROOT = '/sys/fs/bpf';
const INSTANCE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const OBJECTS = ['connect.bpf.o', 'sockops.bpf.o', 'sk_lookup.bpf.o'] as const;
/** The C entry function of each attach point. */
const PROGRAM_FOR: Readonly<Record<AttachType, string>> = {
  connect4: 'ambit_connect4',
  connect6: 'ambit_connect6',
  sockops: 'ambit_sockops',
  sk_lookup: 'ambit_sk_lookup',
};
const LISTEN_ADDRESSES: readonly string[] = ['127.0.0.1', '::1', '0.0.0.0', '::'];

function checkInstance(instance: string): void {
  if (!INSTANCE_PATTERN.test(instance) || instance === '.' || instance === '..') {
    throw new RedirectError('REDIRECT_BAD_INSTANCE', `instance "${instance}" must be 1-64 of [A-Za-z0-9_.-]`);
  }
}

/** `<bpffsRoot>/ambit/<instance>`: where an instance's maps, programs and links are pinned. */
export function instancePinDir(instance: string, bpffsRoot: string = DEFAULT_BPFFS_ROOT): string {
  checkInstance(instance);
  return path.join(bpffsRoot, 'ambit', instance);
}

/** Loads (or reuses the pins of) the programs and maps of an instance. */
export async function openRedirect(options: RedirectOptions): Promise<Redirect> {
  const root = options.bpffsRoot ?? DEFAULT_BPFFS_ROOT;
  const pinDir = instancePinDir(options.instance, root);
  const objectDir = options.objectDir ?? DEFAULT_OBJECT_DIR;
  const addon = loadAddon();
  const programs = new Map<string, number>();
  const maps = new Map<MapName, number>();
  try {
    addon.mountBpffs(root);
    fs.mkdirSync(path.join(pinDir, 'links'), { recursive: true, mode: 0o700 });
    for (const object of OBJECTS) {
      const loaded = await addon.loadObject(path.join(objectDir, object), pinDir);
      for (const [name, fd] of Object.entries(loaded.programs)) programs.set(name, fd);
      for (const [name, fd] of Object.entries(loaded.maps)) {
        // Every object declares the shared maps; keep one fd each.
        if (maps.has(name as MapName) || !(MAP_NAMES as readonly string[]).includes(name)) addon.closeFd(fd);
        else maps.set(name as MapName, fd);
      }
    }
    for (const name of MAP_NAMES) {
      if (!maps.has(name)) throw new Error(`map ${name} is missing from the objects in ${objectDir}`);
    }
    for (const name of Object.values(PROGRAM_FOR)) {
      if (!programs.has(name)) throw new Error(`program ${name} is missing from the objects in ${objectDir}`);
    }
  } catch (err) {
    for (const fd of [...programs.values(), ...maps.values()]) addon.closeFd(fd);
    throw new RedirectError('REDIRECT_LOAD_FAILED', `open redirect instance ${options.instance}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  const fds = Object.fromEntries(maps) as MapFds;
  return new BpfRedirect(addon, options.instance, pinDir, new PinnedMaps(addon, pinDir, fds), programs);
}

/** Reads an instance's state from its pins without loading anything; works while the agent is down. */
export function readRedirectStatus(options: Pick<RedirectOptions, 'instance' | 'bpffsRoot'>): RedirectStatus {
  const pinDir = instancePinDir(options.instance, options.bpffsRoot ?? DEFAULT_BPFFS_ROOT);
  const addon = loadAddon();
  const pins = PinnedMaps.open(addon, pinDir);
  if (pins === undefined) {
    return { instance: options.instance, pinDir, pinned: false, programs: [], maps: [], pods: [], counters: zeroCounters() };
  }
  try {
    return statusOf(options.instance, pins);
  } finally {
    pins.close();
  }
}

/** Detaches every link of an instance and removes all its pins. */
export async function destroyInstance(instance: string, bpffsRoot: string = DEFAULT_BPFFS_ROOT): Promise<void> {
  const pinDir = instancePinDir(instance, bpffsRoot);
  if (!fs.existsSync(pinDir)) return;
  const addon = loadAddon();
  const podsDir = path.join(pinDir, 'links');
  const uids = fs.existsSync(podsDir) ? fs.readdirSync(podsDir) : [];
  for (const uid of uids) {
    for (const type of ATTACH_TYPES) await addon.detach(linkPin(pinDir, uid, type));
  }
  fs.rmSync(pinDir, { recursive: true, force: true });
  // The shared `ambit/` directory goes with its last instance, so nothing of
  // ours stays in bpffs; another instance made meanwhile keeps it (ENOTEMPTY).
  try {
    fs.rmdirSync(path.dirname(pinDir));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'ENOENT' && code !== 'EEXIST') throw err;
  }
}

function statusOf(instance: string, pins: PinnedMaps): RedirectStatus {
  const entries = fs.readdirSync(pins.pinDir);
  return {
    instance,
    pinDir: pins.pinDir,
    pinned: true,
    programs: entries.filter((e) => e.startsWith('prog_')).map((e) => e.slice('prog_'.length)).sort(),
    maps: MAP_NAMES.filter((m) => entries.includes(m)),
    pods: pins.enrolledPods(),
    counters: pins.counters(),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface ValidPod {
  readonly uid: string;
  readonly addresses: readonly RawAddress[];
  readonly excludedPorts: readonly number[];
  readonly excludedCidrs: readonly Cidr[];
}

function validatePod(pod: PodEnrollment): ValidPod {
  const bad = (what: string): never => {
    throw new RedirectError('REDIRECT_BAD_POD', `enroll pod ${pod.uid}: ${what}`);
  };
  if (!UID_PATTERN.test(pod.uid)) bad(`uid must match ${UID_PATTERN.source}`);
  if (!Number.isInteger(pod.inboundListenerFd) || pod.inboundListenerFd < 0) bad('inboundListenerFd is not an fd');
  const addresses = pod.ips.map((ip, i) => parseAddress(ip) ?? bad(`ips[${i}]: "${ip}" is not an IP address`));
  if (addresses.length === 0) bad('ips is empty (inbound capture is keyed by pod IP)');
  const excludedPorts = [...new Set(pod.excludedPorts ?? [])];
  if (excludedPorts.length > MAX_EXCLUDED_PORTS) bad(`more than ${MAX_EXCLUDED_PORTS} excludedPorts`);
  excludedPorts.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) bad(`excludedPorts[${i}]: ${p} is not a port`);
  });
  const cidrTexts = pod.excludedCidrs ?? [];
  if (cidrTexts.length > MAX_EXCLUDED_CIDRS) bad(`more than ${MAX_EXCLUDED_CIDRS} excludedCidrs`);
  const excludedCidrs = cidrTexts.map((c, i) => parseCidr(c) ?? bad(`excludedCidrs[${i}]: "${c}" is not a CIDR`));
  return { uid: pod.uid, addresses, excludedPorts, excludedCidrs };
}

class BpfRedirect implements Redirect {
  private closed = false;
  /**
   * netns path -> netns cookie, learnt from the listeners made there: the
   * original-destination key of a connection accepted on a pod's outbound
   * listener carries that pod's cookie.
   */
  private readonly cookieOfNetns = new Map<string, bigint>();

  constructor(
    private readonly addon: NativeAddon,
    readonly instance: string,
    readonly pinDir: string,
    private readonly pins: PinnedMaps,
    private readonly programs: ReadonlyMap<string, number>,
  ) {}

  async listenInPod(netnsPath: string, address: ListenAddress, port: number, options: SocketOptions = {}): Promise<number> {
    this.checkOpen();
    if (!LISTEN_ADDRESSES.includes(address)) {
      throw new RedirectError('REDIRECT_BAD_POD', `listen in ${netnsPath}: "${address}" is not one of ${LISTEN_ADDRESSES.join(', ')}`);
    }
    const tuning = defaultListenerTuning(port);
    const keepalive = options.keepalive ?? tuning.keepalive;
    const userTimeoutMs = options.userTimeoutMs ?? tuning.userTimeoutMs;
    const fd = await this.addon.listenInNetns(netnsPath, address, port, {
      mark: options.mark ?? PACKET_MARK,
      transparent: options.transparent ?? false,
      reusePort: options.reusePort ?? true,
      backlog: options.backlog ?? 511,
      ...(keepalive !== undefined ? { keepalive } : {}),
      ...(userTimeoutMs !== undefined ? { userTimeoutMs } : {}),
    });
    this.cookieOfNetns.set(netnsPath, this.addon.netnsCookie(fd));
    return fd;
  }

  async connectInPod(netnsPath: string, address: string, port: number, options: ConnectOptions = {}): Promise<net.Socket> {
    this.checkOpen();
    const family = net.isIP(address);
    if (family !== 4 && family !== 6) {
      throw new RedirectError('REDIRECT_BAD_ADDRESS', `connect from ${netnsPath}: "${address}" is not an IP address`);
    }
    let fd: number;
    try {
      fd = await this.addon.socketInNetns(netnsPath, family, {
        mark: options.mark ?? PACKET_MARK,
        transparent: options.transparent ?? false,
        ...(options.keepalive !== undefined ? { keepalive: options.keepalive } : {}),
        ...(options.userTimeoutMs !== undefined ? { userTimeoutMs: options.userTimeoutMs } : {}),
      });
    } catch (err) {
      throw new RedirectError('REDIRECT_CONNECT_FAILED', `connect to ${address}:${port} from ${netnsPath}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return connectFd({
      fd,
      address,
      port,
      where: `netns ${netnsPath}`,
      timeoutMs: options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  }

  async enrollPod(pod: PodEnrollment): Promise<void> {
    this.checkOpen();
    const valid = validatePod(pod);
    const fail = (code: 'REDIRECT_ATTACH_FAILED' | 'REDIRECT_MAP_FAILED' | 'REDIRECT_BAD_POD', err: unknown): never => {
      throw new RedirectError(code, `enroll pod ${pod.uid}: ${messageOf(err)}`, { cause: err });
    };
    let netnsCookie: bigint;
    let cgroupId: bigint;
    try {
      netnsCookie = await this.addon.netnsCookieOfPath(pod.netnsPath);
      cgroupId = fs.statSync(pod.cgroupPath, { bigint: true }).ino;
    } catch (err) {
      return fail('REDIRECT_BAD_POD', err);
    }
    let listenerCookie: bigint;
    try {
      listenerCookie = this.addon.netnsCookie(pod.inboundListenerFd);
    } catch (err) {
      return fail('REDIRECT_BAD_POD', err);
    }
    if (listenerCookie !== netnsCookie) {
      fail('REDIRECT_BAD_POD', new Error(`inboundListenerFd ${pod.inboundListenerFd} is not a socket in netns ${pod.netnsPath}`));
    }

    // A pod re-added with a new network namespace (sandbox restarted) replaces the old enrollment.
    const previous = this.pins.findPod(pod.uid);
    if (previous !== undefined && previous.netnsCookie !== netnsCookie) await this.unenrollPod(pod.uid);
    // Same netns, other cgroup: the cgroup links must move (a pinned link is otherwise kept as is).
    if (previous !== undefined && previous.netnsCookie === netnsCookie && previous.record.cgroupId !== cgroupId) {
      try {
        for (const type of ATTACH_TYPES) {
          if (type !== 'sk_lookup') await this.addon.detach(linkPin(this.pinDir, pod.uid, type));
        }
      } catch (err) {
        return fail('REDIRECT_ATTACH_FAILED', err);
      }
    }

    const { fds } = this.pins;
    try {
      // Maps first, links last: once a program runs for this pod, its state is complete.
      this.addon.sockmapUpdate(
        fds.listeners,
        encodeListenersKey(netnsCookie, LISTENER_INBOUND_PLAINTEXT),
        pod.inboundListenerFd,
      );
      this.addon.mapUpdate(
        fds.pods,
        encodePodsKey(netnsCookie),
        encodePodsValue({ cgroupId, uid: valid.uid, excludedPorts: valid.excludedPorts, excludedCidrs: valid.excludedCidrs }),
      );
      const wanted = new Set(valid.addresses.map((a) => encodePodAddrsKey(a).toString('hex')));
      for (const { key, netnsCookie: owner } of this.pins.podAddresses()) {
        if (owner === netnsCookie && !wanted.has(key.toString('hex'))) this.addon.mapDelete(fds.pod_addrs, key);
      }
      for (const address of valid.addresses) {
        this.addon.mapUpdate(fds.pod_addrs, encodePodAddrsKey(address), encodePodAddrsValue(netnsCookie));
      }
    } catch (err) {
      return fail('REDIRECT_MAP_FAILED', err);
    }
    try {
      fs.mkdirSync(podPinDir(this.pinDir, pod.uid), { recursive: true, mode: 0o700 });
      for (const type of ATTACH_TYPES) {
        const target = type === 'sk_lookup' ? pod.netnsPath : pod.cgroupPath;
        await this.addon.attach(this.program(type), target, type, linkPin(this.pinDir, pod.uid, type));
      }
    } catch (err) {
      return fail('REDIRECT_ATTACH_FAILED', err);
    }
  }

  async unenrollPod(pod: string | Pick<PodEnrollment, 'uid'>): Promise<void> {
    this.checkOpen();
    const uid = typeof pod === 'string' ? pod : pod.uid;
    if (!UID_PATTERN.test(uid)) throw new RedirectError('REDIRECT_BAD_POD', `unenroll pod ${uid}: uid must match ${UID_PATTERN.source}`);
    try {
      // Links first, so no program runs against half-removed state.
      for (const type of ATTACH_TYPES) await this.addon.detach(linkPin(this.pinDir, uid, type));
      fs.rmSync(podPinDir(this.pinDir, uid), { recursive: true, force: true });
    } catch (err) {
      throw new RedirectError('REDIRECT_ATTACH_FAILED', `unenroll pod ${uid}: ${messageOf(err)}`, { cause: err });
    }
    const entry = this.pins.findPod(uid);
    if (entry === undefined) return;
    for (const [netnsPath, cookie] of this.cookieOfNetns) {
      if (cookie === entry.netnsCookie) this.cookieOfNetns.delete(netnsPath);
    }
    const { fds } = this.pins;
    try {
      for (const { key, netnsCookie } of this.pins.podAddresses()) {
        if (netnsCookie === entry.netnsCookie) this.addon.mapDelete(fds.pod_addrs, key);
      }
      this.addon.mapDelete(fds.listeners, encodeListenersKey(entry.netnsCookie, LISTENER_INBOUND_PLAINTEXT));
      this.addon.mapDelete(fds.pods, encodePodsKey(entry.netnsCookie));
    } catch (err) {
      throw new RedirectError('REDIRECT_MAP_FAILED', `unenroll pod ${uid}: ${messageOf(err)}`, { cause: err });
    }
  }

  originalDestination(socket: net.Socket, netnsPath: string): OriginalDestination | undefined {
    this.checkOpen();
    const cookie = this.cookieOfNetns.get(netnsPath);
    // A socket the peer already reset has no addresses left to look up.
    const src = socket.remoteAddress === undefined ? undefined : parseAddress(socket.remoteAddress);
    const dst = socket.localAddress === undefined ? undefined : parseAddress(socket.localAddress);
    if (cookie === undefined || src === undefined || dst === undefined) return undefined;
    const key = encodeTupleDstKey(cookie, src, socket.remotePort ?? 0, dst, socket.localPort ?? 0);
    try {
      const raw = this.addon.mapLookup(this.pins.fds.tuple_dst, key, LAYOUT.ambit_orig_dst.size);
      return raw === null ? undefined : decodeOrigDst(raw);
    } catch (err) {
      throw new RedirectError('REDIRECT_MAP_FAILED', `original destination of ${socket.remoteAddress}:${socket.remotePort} in ${netnsPath}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  enrolledPods(): EnrolledPod[] {
    this.checkOpen();
    return this.pins.enrolledPods();
  }

  counters(): RedirectCounters {
    this.checkOpen();
    return this.pins.counters();
  }

  status(): RedirectStatus {
    this.checkOpen();
    return statusOf(this.instance, this.pins);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cookieOfNetns.clear();
    this.pins.close();
    for (const fd of this.programs.values()) this.addon.closeFd(fd);
  }

  private program(type: AttachType): number {
    const fd = this.programs.get(PROGRAM_FOR[type]);
    if (fd === undefined) throw new Error(`program ${PROGRAM_FOR[type]} is not loaded`);
    return fd;
  }

  private checkOpen(): void {
    if (this.closed) throw new RedirectError('REDIRECT_CLOSED', `redirect instance ${this.instance} is closed`);
  }
}
