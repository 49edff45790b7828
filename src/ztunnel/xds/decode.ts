/**
 * Turns the resources of one delta response into store writes, checking
 * each one whole first: a resource the agent cannot use is rejected by name
 * with a reason (the NACK detail), and the others still apply.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { Resource } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { AddressSchema, type NetworkAddress, type Service, type Workload } from '../../gen/istio/workload/workload_pb.js';
import {
  AuthorizationSchema,
  type Address as AuthzAddress,
  type Authorization,
} from '../../gen/istio/security/authorization_pb.js';
import { errorMessage } from '../../shared/errors.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  policyKey,
  serviceKey,
  type StoreResource,
} from '../state/index.js';

export interface Rejection {
  readonly name: string;
  readonly reason: string;
}

/** A resource that decoded and passed the checks, with the version istiod gave it. */
export interface AcceptedResource {
  readonly name: string;
  readonly version: string;
  readonly resource: StoreResource;
}

export interface DecodedResponse {
  readonly accepted: readonly AcceptedResource[];
  readonly rejected: readonly Rejection[];
}

/** The type URLs the agent subscribes to, in the order it subscribes. */
export const WATCHED_TYPE_URLS: readonly string[] = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL];

class Invalid extends Error {}

function checkIp(bytes: Uint8Array, field: string): void {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new Invalid(`${field} is ${bytes.length} bytes, not an IPv4 (4) or IPv6 (16) address`);
  }
}

function checkNetworkAddress(a: NetworkAddress | undefined, field: string): void {
  if (a === undefined) return;
  checkIp(a.address, `${field}.address`);
  if (a.length !== undefined && a.length > a.address.length * 8) {
    throw new Invalid(`${field}.length ${a.length} is longer than the address`);
  }
}

function checkWorkload(w: Workload, name: string): void {
  if (w.uid === '') throw new Invalid('workload has no uid');
  if (w.uid !== name) throw new Invalid(`workload uid "${w.uid}" is not the resource name`);
  w.addresses.forEach((a, i) => checkIp(a, `addresses[${i}]`));
  if (w.waypoint?.destination.case === 'address') checkNetworkAddress(w.waypoint.destination.value, 'waypoint.address');
  if (w.networkGateway?.destination.case === 'address') {
    checkNetworkAddress(w.networkGateway.destination.value, 'networkGateway.address');
  }
  for (const key of Object.keys(w.services)) {
    if (!key.includes('/')) throw new Invalid(`services key "${key}" is not <namespace>/<hostname>`);
  }
}

function checkService(s: Service, name: string): void {
  if (s.hostname === '') throw new Invalid('service has no hostname');
  if (s.namespace === '') throw new Invalid('service has no namespace');
  if (serviceKey(s) !== name) throw new Invalid(`service "${serviceKey(s)}" is not the resource name`);
  s.addresses.forEach((a, i) => checkNetworkAddress(a, `addresses[${i}]`));
}

function checkCidrs(list: readonly AuthzAddress[], field: string): void {
  list.forEach((a, i) => {
    checkIp(a.address, `${field}[${i}].address`);
    if (a.length > a.address.length * 8) throw new Invalid(`${field}[${i}].length ${a.length} is longer than the address`);
  });
}

function checkPolicy(p: Authorization, name: string): void {
  if (p.name === '' || p.namespace === '') throw new Invalid('policy has no name or namespace');
  if (policyKey(p) !== name) throw new Invalid(`policy "${policyKey(p)}" is not the resource name`);
  p.groups.forEach((g, gi) =>
    g.rules.forEach((r, ri) =>
      r.matches.forEach((m, mi) => {
        const at = `groups[${gi}].rules[${ri}].matches[${mi}]`;
        checkCidrs(m.sourceIps, `${at}.sourceIps`);
        checkCidrs(m.notSourceIps, `${at}.notSourceIps`);
        checkCidrs(m.destinationIps, `${at}.destinationIps`);
        checkCidrs(m.notDestinationIps, `${at}.notDestinationIps`);
      }),
    ),
  );
}

function decodeOne(typeUrl: string, r: Resource): StoreResource {
  if (r.name === '') throw new Invalid('resource has no name');
  const any = r.resource;
  if (any === undefined) throw new Invalid('resource has no body');
  if (any.typeUrl !== typeUrl) throw new Invalid(`resource carries ${any.typeUrl || 'no type'}, not ${typeUrl}`);
  if (typeUrl === ADDRESS_TYPE_URL) {
    let address;
    try {
      address = fromBinary(AddressSchema, any.value);
    } catch (err) {
      throw new Invalid(`cannot decode istio.workload.Address: ${errorMessage(err)}`);
    }
    if (address.type.case === 'workload') {
      checkWorkload(address.type.value, r.name);
      return { kind: 'workload', workload: address.type.value };
    }
    if (address.type.case === 'service') {
      checkService(address.type.value, r.name);
      return { kind: 'service', service: address.type.value };
    }
    throw new Invalid('address is neither a workload nor a service');
  }
  let policy;
  try {
    policy = fromBinary(AuthorizationSchema, any.value);
  } catch (err) {
    throw new Invalid(`cannot decode istio.security.Authorization: ${errorMessage(err)}`);
  }
  checkPolicy(policy, r.name);
  return { kind: 'policy', policy };
}

/**
 * Decodes and checks every resource of a response of a watched type. A
 * name sent twice keeps its last occurrence (as a map write would).
 */
export function decodeResources(typeUrl: string, resources: readonly Resource[]): DecodedResponse {
  const accepted = new Map<string, AcceptedResource>();
  const rejected = new Map<string, Rejection>();
  for (const r of resources) {
    try {
      const resource = decodeOne(typeUrl, r);
      rejected.delete(r.name);
      accepted.set(r.name, { name: r.name, version: r.version, resource });
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      accepted.delete(r.name);
      rejected.set(r.name, { name: r.name || '<unnamed>', reason: err.message });
    }
  }
  return { accepted: [...accepted.values()], rejected: [...rejected.values()] };
}

/** The NACK detail ztunnel sends: `"<name>: <reason>; <name>: <reason>"`. */
export function nackMessage(rejected: readonly Rejection[]): string {
  return rejected.map((r) => `${r.name}: ${r.reason}`).join('; ');
}
