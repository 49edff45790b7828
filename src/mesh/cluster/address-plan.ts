/**
 * The cluster's IPv4 address plan: node addresses on the underlay subnet, a
 * /24 pod CIDR per node carved out of the pod supernet, and pod addresses
 * inside it. Pure functions, so the plan is checked without namespaces.
 */
import { ClusterError } from './errors.js';
import { canonicalIp, formatIp, parseIpExact } from '../../shared/net/index.js';

/** An IPv4 prefix, `network` held as an unsigned 32-bit number. */
export interface Ipv4Cidr {
  readonly network: number;
  readonly prefixLength: number;
}

export interface AddressPlanOptions {
  /** Subnet of the underlay bridge that node addresses come from (at most /24 is sensible). */
  readonly nodeSubnet?: string;
  /** Supernet split into one /24 pod CIDR per node. */
  readonly podSupernet?: string;
}

/** Defaults chosen from 10/8 away from the ranges Docker, kind and Kubernetes usually take. */
export const DEFAULT_NODE_SUBNET = '10.250.0.0/24';
export const DEFAULT_POD_SUPERNET = '10.251.0.0/16';
/** Node i gets host number NODE_HOST_OFFSET + i on the underlay subnet. */
const NODE_HOST_OFFSET = 10;
/** Pod j of a node gets host number POD_HOST_OFFSET + j; .1 is the node-side gateway. */
const POD_HOST_OFFSET = 2;
const POD_CIDR_PREFIX = 24;

export function parseIpv4(text: string): number {
  const bytes = parseIpExact(text);
  if (bytes === undefined || bytes.length !== 4) throw new ClusterError('CLUSTER_ADDRESS_CLASH', `"${text}" is not an IPv4 address`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}

export function formatIpv4(n: number): string {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n >>> 0);
  return formatIp(bytes);
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function parseCidr(text: string): Ipv4Cidr {
  const [addr, len] = text.split('/');
  const prefixLength = len === undefined ? 32 : Number(len);
  if (addr === undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new ClusterError('CLUSTER_ADDRESS_CLASH', `"${text}" is not an IPv4 CIDR`);
  }
  return { network: (parseIpv4(addr) & mask(prefixLength)) >>> 0, prefixLength };
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefixLength}`;
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return ((a.network & mask(shorter)) >>> 0) === ((b.network & mask(shorter)) >>> 0);
}

/**
 * IPv6 (optional, dual-stack): a fixed ULA /48 split into one /64 per node
 * for pods and one /64 for the underlay. ULAs (RFC 4193) never leave the
 * namespaces and cannot clash with global routes.
 */
const IPV6_PREFIX = 'fd61:6d62:6974';
const IPV6_UNDERLAY_SUBNET = 0xffff;

/** RFC 5952 text form, so addresses compare equal to what sockets report. */
function canonical6(text: string): string {
  return canonicalIp(text) ?? text;
}

export function nodeIp6(index: number): string {
  return canonical6(`${IPV6_PREFIX}:${IPV6_UNDERLAY_SUBNET.toString(16)}::${(NODE_HOST_OFFSET + index).toString(16)}`);
}

export function podCidr6(nodeIndex: number): string {
  return `${canonical6(`${IPV6_PREFIX}:${nodeIndex.toString(16)}::`)}/64`;
}

export function podGateway6(nodeIndex: number): string {
  return canonical6(`${IPV6_PREFIX}:${nodeIndex.toString(16)}::1`);
}

export function podIp6(nodeIndex: number, podIndex: number): string {
  return canonical6(`${IPV6_PREFIX}:${nodeIndex.toString(16)}::${(POD_HOST_OFFSET + podIndex).toString(16)}`);
}

/** The concrete addresses of a cluster. */
export class AddressPlan {
  readonly nodeSubnet: Ipv4Cidr;
  readonly podSupernet: Ipv4Cidr;

  constructor(options: AddressPlanOptions = {}) {
    this.nodeSubnet = parseCidr(options.nodeSubnet ?? DEFAULT_NODE_SUBNET);
    this.podSupernet = parseCidr(options.podSupernet ?? DEFAULT_POD_SUPERNET);
    if (this.podSupernet.prefixLength > POD_CIDR_PREFIX) {
      throw new ClusterError('CLUSTER_ADDRESS_CLASH', `pod supernet ${formatCidr(this.podSupernet)} is smaller than a /24`);
    }
    if (cidrsOverlap(this.nodeSubnet, this.podSupernet)) {
      throw new ClusterError(
        'CLUSTER_ADDRESS_CLASH',
        `node subnet ${formatCidr(this.nodeSubnet)} overlaps pod supernet ${formatCidr(this.podSupernet)}`,
      );
    }
  }

  get maxNodes(): number {
    const nodeHosts = 2 ** (32 - this.nodeSubnet.prefixLength) - NODE_HOST_OFFSET - 1;
    const podCidrs = 2 ** (POD_CIDR_PREFIX - this.podSupernet.prefixLength);
    return Math.max(0, Math.min(nodeHosts, podCidrs));
  }

  /** Pods a node can hold: .1 is the gateway, .255 the broadcast address is left alone. */
  get maxPodsPerNode(): number {
    return 2 ** (32 - POD_CIDR_PREFIX) - POD_HOST_OFFSET - 1;
  }

  nodeIp(index: number): string {
    this.checkNode(index);
    return formatIpv4(this.nodeSubnet.network + NODE_HOST_OFFSET + index);
  }

  podCidr(nodeIndex: number): string {
    this.checkNode(nodeIndex);
    return formatCidr({ network: this.podSupernet.network + nodeIndex * 256, prefixLength: POD_CIDR_PREFIX });
  }

  /** The node-side address every pod of the node uses as its default gateway. */
  podGateway(nodeIndex: number): string {
    this.checkNode(nodeIndex);
    return formatIpv4(this.podSupernet.network + nodeIndex * 256 + 1);
  }

  podIp(nodeIndex: number, podIndex: number): string {
    this.checkNode(nodeIndex);
    if (!Number.isInteger(podIndex) || podIndex < 0 || podIndex >= this.maxPodsPerNode) {
      throw new ClusterError('CLUSTER_ADDRESS_CLASH', `pod index ${podIndex} is outside 0..${this.maxPodsPerNode - 1}`);
    }
    return formatIpv4(this.podSupernet.network + nodeIndex * 256 + POD_HOST_OFFSET + podIndex);
  }

  /**
   * Fails when the plan overlaps one of the host's routes: although every
   * address lives inside namespaces the cluster creates, a clash would make
   * captures and debugging on the host ambiguous.
   */
  checkAgainstRoutes(hostRoutes: readonly string[]): void {
    for (const route of hostRoutes) {
      if (route === 'default' || route.includes(':')) continue;
      const r = parseCidr(route);
      for (const [what, c] of [['node subnet', this.nodeSubnet], ['pod supernet', this.podSupernet]] as const) {
        if (cidrsOverlap(r, c)) {
          throw new ClusterError(
            'CLUSTER_ADDRESS_CLASH',
            `${what} ${formatCidr(c)} overlaps host route ${route}; pick another with the nodeSubnet/podSupernet options`,
          );
        }
      }
    }
  }

  private checkNode(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxNodes) {
      throw new ClusterError('CLUSTER_ADDRESS_CLASH', `node index ${index} is outside 0..${this.maxNodes - 1}`);
    }
  }
}
