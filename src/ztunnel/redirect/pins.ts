/**
 * The pinned state of one instance, read and written through map fds:
 * `<bpffsRoot>/ambit/<instance>/{<map>, prog_<program>, links/<uid>/<attach>}`.
 * Both the running agent and a read-only status reader (a CLI while the agent
 * is down) use it.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  COUNTER_COUNT,
  LAYOUT,
  LISTENER_INBOUND_PLAINTEXT,
  decodePodAddrsKey,
  decodePodsValue,
  encodeListenersKey,
  formatAddress,
  formatCidr,
  sumPerCpu,
  type PodRecord,
} from './layout.js';
import type { AttachType, NativeAddon } from './native.js';
import { COUNTER_NAMES, type CounterName, type EnrolledPod, type RedirectCounters } from './types.js';

export const MAP_NAMES = ['pods', 'pod_addrs', 'listeners', 'cookie_dst', 'tuple_dst', 'counters'] as const;
export type MapName = (typeof MAP_NAMES)[number];
export type MapFds = Readonly<Record<MapName, number>>;

export const ATTACH_TYPES: readonly AttachType[] = ['connect4', 'connect6', 'sockops', 'sk_lookup'];

/** Pod UIDs name pin directories, so they are restricted to what a Kubernetes UID uses. */
export const UID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function podPinDir(pinDir: string, uid: string): string {
  return path.join(pinDir, 'links', uid);
}

export function linkPin(pinDir: string, uid: string, type: AttachType): string {
  return path.join(podPinDir(pinDir, uid), type);
}

export interface PodEntry {
  readonly netnsCookie: bigint;
  readonly record: PodRecord;
}

/** Reads the pinned maps. Every method is a few bpf() syscalls; none waits. */
export class PinnedMaps {
  constructor(
    private readonly addon: NativeAddon,
    readonly pinDir: string,
    readonly fds: MapFds,
  ) {}

  /** Opens the map pins of an instance; undefined when they are not all there. */
  static open(addon: NativeAddon, pinDir: string): PinnedMaps | undefined {
    const opened: Partial<Record<MapName, number>> = {};
    try {
      for (const name of MAP_NAMES) {
        const pin = path.join(pinDir, name);
        if (!fs.existsSync(pin)) return undefined;
        opened[name] = addon.objGet(pin);
      }
      return new PinnedMaps(addon, pinDir, opened as MapFds);
    } finally {
      if (Object.keys(opened).length !== MAP_NAMES.length) {
        for (const fd of Object.values(opened)) addon.closeFd(fd);
      }
    }
  }

  close(): void {
    for (const name of MAP_NAMES) this.addon.closeFd(this.fds[name]);
  }

  pods(): PodEntry[] {
    const out: PodEntry[] = [];
    for (const key of this.addon.mapKeys(this.fds.pods, LAYOUT.pods_key.size)) {
      const value = this.addon.mapLookup(this.fds.pods, key, LAYOUT.pods_value.size);
      if (value !== null) out.push({ netnsCookie: key.readBigUInt64LE(0), record: decodePodsValue(value) });
    }
    return out;
  }

  findPod(uid: string): PodEntry | undefined {
    return this.pods().find((p) => p.record.uid === uid);
  }

  /** Pod address keys (encoded) with the netns cookie each points to. */
  podAddresses(): { key: Buffer; netnsCookie: bigint }[] {
    const out: { key: Buffer; netnsCookie: bigint }[] = [];
    for (const key of this.addon.mapKeys(this.fds.pod_addrs, LAYOUT.pod_addrs_key.size)) {
      const value = this.addon.mapLookup(this.fds.pod_addrs, key, LAYOUT.pod_addrs_value.size);
      if (value !== null) out.push({ key, netnsCookie: value.readBigUInt64LE(0) });
    }
    return out;
  }

  hasInboundListener(netnsCookie: bigint): boolean {
    const key = encodeListenersKey(netnsCookie, LISTENER_INBOUND_PLAINTEXT);
    return this.addon.mapLookup(this.fds.listeners, key, 8) !== null;
  }

  enrolledPods(): EnrolledPod[] {
    const addresses = this.podAddresses();
    return this.pods()
      .map(({ netnsCookie, record }) => {
        const ips = addresses
          .filter((a) => a.netnsCookie === netnsCookie)
          .map((a) => decodePodAddrsKey(a.key))
          .map((a) => formatAddress(a.family, a.bytes))
          .sort();
        return {
          uid: record.uid,
          netnsCookie,
          cgroupId: record.cgroupId,
          ips,
          excludedPorts: [...record.excludedPorts],
          excludedCidrs: record.excludedCidrs.map(formatCidr),
          inboundListener: this.hasInboundListener(netnsCookie),
          links: ATTACH_TYPES.filter((t) => fs.existsSync(linkPin(this.pinDir, record.uid, t))),
        };
      })
      .sort((a, b) => a.uid.localeCompare(b.uid));
  }

  counters(): RedirectCounters {
    const cpus = this.addon.possibleCpus();
    const out = {} as Record<CounterName, number>;
    const key = Buffer.alloc(4);
    for (let i = 0; i < COUNTER_COUNT; i++) {
      key.writeUInt32LE(i);
      const value = this.addon.mapLookup(this.fds.counters, key, 8 * cpus);
      out[COUNTER_NAMES[i] as CounterName] = value === null ? 0 : sumPerCpu(value, cpus);
    }
    return out;
  }
}

export function zeroCounters(): RedirectCounters {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<CounterName, number>;
}
