import { isIP } from 'node:net';
import { HboneError } from './errors.js';

/** A CONNECT target: `ip:port` (`[v6]:port` on the wire). */
export interface SocketAddr {
  readonly ip: string;
  readonly port: number;
}

export function formatAuthority(addr: SocketAddr): string {
  return isIP(addr.ip) === 6 ? `[${addr.ip}]:${addr.port}` : `${addr.ip}:${addr.port}`;
}

/**
 * Parses the `:authority` of an HBONE CONNECT. ztunnel sends an IP and a
 * port; hostname authorities (double HBONE, gateways) are not served here.
 */
export function parseAuthority(authority: string | undefined): SocketAddr {
  if (authority === undefined || authority === '') {
    throw new HboneError('HBONE_BAD_AUTHORITY', 'CONNECT without :authority');
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(authority);
  const ip = m?.[1] ?? m?.[2];
  const port = m ? Number(m[3]) : NaN;
  if (ip === undefined || isIP(ip) === 0 || !(port >= 1 && port <= 65535)) {
    throw new HboneError('HBONE_BAD_AUTHORITY', `:authority "${authority}" is not ip:port`);
  }
  return { ip, port };
}
