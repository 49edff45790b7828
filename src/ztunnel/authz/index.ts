/** L4 authorization in the node agent (istio.security.Authorization semantics): public surface. */
export { compilePolicy, stringMatches, type CompiledPolicy, type StringMatcher, type PolicyAction, type PolicyScope } from './compile.js';
export {
  prepareConnection,
  peerIdentity,
  type ConnectionAttributes,
  type PeerIdentity,
  type PreparedConnection,
} from './connection.js';
export { evaluate, type Decision, type DecisionReason, type DryRunMatch } from './evaluate.js';
export {
  PolicySet,
  type ApplicablePolicies,
  type LiveConnection,
  type PolicyChanges,
  type PolicySetOptions,
  type WorkloadPolicyRef,
} from './policy-set.js';
export { parseIp, formatIp, cidrFromWire, cidrContains, type Cidr, type IpBytes } from '../../shared/net/index.js';
export { AuthzError } from './errors.js';
