/** HOST:PORT targets of the debug commands. */
import { TargetError } from './errors.js';

export interface TargetAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" or "[v6]:port" (port 1-65535; a bare ":port" means 127.0.0.1). */
export function parseTargetAddress(what: string, text: string): TargetAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TargetError(
      'TARGET_BAD_ADDRESS',
      `${what} "${text}": not HOST:PORT (port 1-65535; IPv6 as [addr]:port)`,
    );
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export function formatTargetAddress(a: TargetAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
