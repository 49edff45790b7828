/**
 * Which agent or istiod a debug command talks to, from its flags:
 * an explicit HOST:PORT, or a node name looked up in the mesh state.
 */
import { formatTargetAddress, parseTargetAddress, type TargetAddress } from './address.js';
import { findMeshNode, readMeshState, requireMeshState } from './mesh-state.js';

/** ztunnel's admin port, loopback only. */
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:15000';
/** istiod's monitoring port (`/debug/syncz`). */
export const DEFAULT_ISTIOD_MONITORING = '127.0.0.1:15014';

export interface AgentTarget {
  readonly address: TargetAddress;
  /** The node, when the target was chosen by name. */
  readonly node?: string;
  /** Said when nobody answers. */
  readonly hint: string;
}

export interface AgentFlags {
  readonly admin?: string;
  readonly node?: string;
  readonly stateDir: string;
  /** Told which agent was picked when none was named. */
  readonly notice?: (line: string) => void;
}

/**
 * `--admin` wins; else `--node` through the mesh state; else the first node
 * of the mesh in the state directory; else the default admin address.
 */
export function resolveAgent(flags: AgentFlags): AgentTarget {
  if (flags.admin !== undefined) {
    const address = parseTargetAddress('--admin', flags.admin);
    return {
      address,
      hint: `is \`ambit ztunnel\` running with its admin listener on ${formatTargetAddress(address)}?`,
    };
  }
  if (flags.node !== undefined) {
    const node = findMeshNode(requireMeshState(flags.stateDir), flags.node);
    return {
      address: node.adminAddress,
      node: node.name,
      hint: `is \`ambit ztunnel\` running on node ${node.name}?`,
    };
  }
  // As istioctl picks a ztunnel pod: with a mesh in the state directory, its first node's agent.
  const state = readMeshState(flags.stateDir);
  const first = state?.nodes[0];
  if (first !== undefined) {
    flags.notice?.(
      `using the agent on ${first.name} (first node of the mesh in ${flags.stateDir}; pick another with --node NAME)`,
    );
    return {
      address: first.adminAddress,
      node: first.name,
      hint: `is \`ambit ztunnel\` running on node ${first.name}? (\`ambit mesh status\` shows what runs)`,
    };
  }
  const address = parseTargetAddress('default admin address', DEFAULT_ADMIN_ADDRESS);
  return {
    address,
    hint: 'is `ambit ztunnel` running on this node? (or pick one with --node NAME or --admin HOST:PORT)',
  };
}

export interface IstiodTarget {
  readonly address: TargetAddress;
  readonly hint: string;
}

export interface IstiodFlags {
  readonly istiod?: string;
  readonly stateDir: string;
  /** Whether --state-dir was given (then a missing state file is an error). */
  readonly stateDirExplicit: boolean;
}

/** `--istiod`; else every distinct istiod of the mesh state; else the default monitoring address. */
export function resolveIstiods(flags: IstiodFlags): IstiodTarget[] {
  const hintFor = (a: TargetAddress): string =>
    `is \`ambit istiod\` running with --monitoring-addr ${formatTargetAddress(a)}?`;
  if (flags.istiod !== undefined) {
    const address = parseTargetAddress('--istiod', flags.istiod);
    return [{ address, hint: hintFor(address) }];
  }
  const state = flags.stateDirExplicit
    ? requireMeshState(flags.stateDir, 'name the istiod with --istiod HOST:PORT')
    : readMeshState(flags.stateDir);
  if (state !== undefined && state.nodes.length > 0) {
    const seen = new Map<string, TargetAddress>();
    for (const n of state.nodes) seen.set(formatTargetAddress(n.istiodMonitoring), n.istiodMonitoring);
    return [...seen.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, address]) => ({ address, hint: hintFor(address) }));
  }
  const address = parseTargetAddress('default istiod address', DEFAULT_ISTIOD_MONITORING);
  return [{ address, hint: hintFor(address) }];
}
