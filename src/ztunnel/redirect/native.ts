/**
 * The native addon's surface, typed. Loaded lazily with createRequire from
 * `build/Release/ambit_native.node` (built by `npm run build`), so modules
 * that only import types never need it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedirectError } from './errors.js';
import type { TcpKeepalive } from './types.js';

/** What {@link NativeAddon.loadObject} returns: fds opened from the pins. */
export interface LoadedObject {
  /** Program name (the C function name) -> fd. */
  readonly programs: Readonly<Record<string, number>>;
  /** Map name -> fd. */
  readonly maps: Readonly<Record<string, number>>;
  /** True when the object was loaded now, false when existing pins were reused. */
  readonly loaded: boolean;
}

export type AttachType = 'connect4' | 'connect6' | 'sockops' | 'sk_lookup';

export interface NativeSocketOptions {
  readonly mark?: number;
  readonly transparent?: boolean;
  readonly reusePort?: boolean;
  readonly backlog?: number;
  readonly keepalive?: TcpKeepalive;
  readonly userTimeoutMs?: number;
}

/** The keepalive and user-timeout settings the kernel reports for a TCP socket; -1 where unreadable. */
export interface TcpKeepaliveState extends TcpKeepalive {
  readonly enabled: boolean;
  readonly userTimeoutMs: number;
}

export interface LinkInfo {
  readonly id: number;
  readonly progId: number;
  /** enum bpf_link_type. */
  readonly type: number;
}

/**
 * Every function throws (or rejects with) an Error carrying `errno`, `code`
 * and `syscall` (see NativeError in errors.ts).
 */
export interface NativeAddon {
  /** Loads `objPath` with its maps pinned by name in `pinDir` (reused if present); pins programs as `prog_<name>`. */
  loadObject(objPath: string, pinDir: string): Promise<LoadedObject>;
  /** Attaches as a BPF link pinned at `linkPin`; resolves false when the pin already existed. */
  attach(progFd: number, targetPath: string, type: AttachType, linkPin: string): Promise<boolean>;
  /** Detaches the link pinned at `linkPin` and removes the pin; false when there was none. */
  detach(linkPin: string): Promise<boolean>;
  linkInfo(linkPin: string): LinkInfo | null;
  objGet(pinPath: string): number;
  closeFd(fd: number): void;
  mapUpdate(mapFd: number, key: Buffer, value: Buffer, flags?: number): void;
  mapLookup(mapFd: number, key: Buffer, valueSize: number): Buffer | null;
  mapDelete(mapFd: number, key: Buffer): boolean;
  mapKeys(mapFd: number, keySize: number): Buffer[];
  sockmapUpdate(mapFd: number, key: Buffer, socketFd: number): void;
  possibleCpus(): number;
  /** Mounts bpffs at `path` unless it is already there; true when it mounted now. */
  mountBpffs(path: string): boolean;
  listenInNetns(netnsPath: string, address: string, port: number, options?: NativeSocketOptions): Promise<number>;
  /**
   * An unconnected, non-blocking TCP socket (IPv4 or IPv6) created inside the
   * netns, options applied; for `new net.Socket({ fd }).connect(...)`. The
   * netns is entered only for socket(): the promise settles in about 0.1 ms.
   */
  socketInNetns(netnsPath: string, family: 4 | 6, options?: NativeSocketOptions): Promise<number>;
  netnsCookieOfPath(netnsPath: string): Promise<bigint>;
  netnsCookie(socketFd: number): bigint;
  socketCookie(socketFd: number): bigint;
  setSocketOption(socketFd: number, name: 'mark' | 'transparent' | 'reusePort', value: number): void;
  tcpKeepalive(socketFd: number): TcpKeepaliveState;
}

/** The package root: this file is at src/ztunnel/redirect/ or dist/ztunnel/redirect/. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'ambit_native.node');
export const DEFAULT_OBJECT_DIR = path.join(PACKAGE_ROOT, 'build', 'Release', 'bpf');

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    } catch (err) {
      throw new RedirectError(
        'REDIRECT_NATIVE_UNAVAILABLE',
        `cannot load the native addon ${ADDON_PATH} (run "npm run build"; it needs clang, libbpf-dev and bpftool)`,
        { cause: err },
      );
    }
  }
  return addon;
}
