import { PORT_HBONE } from '../../shared/ports-and-limits.js';

/** What a TLS endpoint of the mesh needs: its key and chain, and the roots it trusts. */
export interface TlsMaterial {
  readonly keyPem: string;
  /** Leaf first, then intermediates. */
  readonly certChainPem: string;
  /** The mesh root bundle peers are verified against. */
  readonly rootPem: string;
}

/** HBONE is TLS 1.3 only, ALPN h2 on both sides (as ztunnel). */
export const HBONE_TLS_VERSION = 'TLSv1.3';
export const HBONE_ALPN = ['h2'];
/** The HBONE port on every captured pod. */
export const HBONE_PORT = PORT_HBONE;

/** HTTP/2 settings from ztunnel's defaults (reference §2.5). */
export const HBONE_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
export const HBONE_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
export const HBONE_MAX_FRAME_BYTES = 1024 * 1024;
/** SETTINGS_MAX_CONCURRENT_STREAMS the server advertises (ztunnel: 200). */
export const HBONE_SERVER_MAX_STREAMS = 200;
/** SETTINGS_MAX_HEADER_LIST_SIZE: ztunnel's client 16 KiB, server 64 KiB. */
export const HBONE_CLIENT_MAX_HEADER_LIST_BYTES = 16 * 1024;
export const HBONE_SERVER_MAX_HEADER_LIST_BYTES = 64 * 1024;
