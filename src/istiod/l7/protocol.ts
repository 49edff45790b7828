/**
 * The protocol a Service port is spoken with at the waypoint, as Istio
 * decides from appProtocol or the port-name prefix; grpc-web is HTTP, and
 * anything unknown is TCP (the waypoint does not sniff).
 */
import type { ServicePort } from '../config/types.js';
import type { PortProtocol } from '../../shared/l7/waypoint-config.js';

export function portProtocol(p: ServicePort): PortProtocol {
  if (p.protocol !== 'TCP') return 'tcp';
  const raw = (p.appProtocol ?? p.name ?? '').toLowerCase();
  if (raw === 'kubernetes.io/h2c') return 'http2';
  if (raw === 'kubernetes.io/ws' || raw === 'kubernetes.io/wss') return 'http';
  if (raw.startsWith('grpc-web')) return 'http';
  const dash = raw.indexOf('-');
  const prefix = dash >= 0 ? raw.slice(0, dash) : raw;
  switch (prefix) {
    case 'http':
      return 'http';
    case 'http2':
      return 'http2';
    case 'grpc':
      return 'grpc';
    default:
      return 'tcp';
  }
}

export function isHttpProtocol(p: PortProtocol): boolean {
  return p !== 'tcp';
}
