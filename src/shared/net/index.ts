/** IP addresses and CIDR prefixes, one implementation for every role. */
export { canonicalIp, formatIp, isIpBytes, parseIp, parseIpExact, unmapIpv4, type IpBytes } from './ip.js';
export { cidrContains, cidrFromWire, cidrsOverlap, formatCidr, maskCidr, parseCidr, parsePrefix, type Cidr } from './cidr.js';
