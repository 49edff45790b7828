/**
 * Builds the policies of an evaluation case the way they reach the node
 * agent: documents are written as YAML, parsed and validated like config
 * files, converted by istiod's ambient index (with a stand-in destination
 * workload), and compiled into a PolicySet.
 */
import { stringify } from 'yaml';
import { parseConfigText } from '../../../../src/istiod/config/parse.js';
import type { AnyConfigObject } from '../../../../src/istiod/config/types.js';
import { validateDocument } from '../../../../src/istiod/config/validation/index.js';
import { resolvePolicies, type CheckDestination } from '../../../../src/cli/commands/authz.js';
import { evaluate, type ConnectionAttributes, type Decision } from '../../../../src/ztunnel/authz/index.js';

export type Doc = Record<string, unknown>;

/** Multi-document YAML of the given documents. */
export function toYaml(docs: readonly Doc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

/** Parses and validates YAML; any problem fails loudly with its field path. */
export function objectsFromYaml(text: string): AnyConfigObject[] {
  return parseConfigText(text, 'case.yaml').map((doc) => {
    if (doc.kind === 'parse-error') throw new Error(`case.yaml[${doc.index}]: ${doc.message}`);
    const r = validateDocument(doc.raw, { source: 'test', file: 'case.yaml', index: doc.index });
    if (r.kind === 'invalid') throw new Error(`case.yaml[${doc.index}]: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    return r.object;
  });
}

export interface DecideOptions {
  readonly destination?: Partial<CheckDestination>;
  readonly rootNamespace?: string;
  readonly includeDryRun?: boolean;
}

export const DEFAULT_DESTINATION: CheckDestination = { namespace: 'demo', labels: { app: 'backend' }, ip: '10.0.0.9' };

/** Converts the documents as istiod does, then decides the connection as the node agent does. */
export function decide(docs: readonly Doc[], conn: ConnectionAttributes, options: DecideOptions = {}): Decision {
  const destination = { ...DEFAULT_DESTINATION, ...options.destination };
  const resolved = resolvePolicies(objectsFromYaml(toYaml(docs)), destination, {
    rootNamespace: options.rootNamespace ?? 'istio-system',
    includeDryRun: options.includeDryRun ?? false,
  });
  return evaluate(resolved.policies.applicableTo(resolved.workload).policies, conn);
}

interface PolicyInit {
  readonly namespace?: string;
  /** Default { app: backend }; null for no selector. */
  readonly selector?: Record<string, string> | null;
  readonly annotations?: Record<string, string>;
}

function policy(action: string | undefined, name: string, rules: unknown[] | undefined, init: PolicyInit = {}): Doc {
  const spec: Record<string, unknown> = {};
  const selector = init.selector === undefined ? { app: 'backend' } : init.selector;
  if (selector !== null) spec['selector'] = { matchLabels: selector };
  if (action !== undefined) spec['action'] = action;
  if (rules !== undefined) spec['rules'] = rules;
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: init.namespace ?? 'demo', ...(init.annotations === undefined ? {} : { annotations: init.annotations }) },
    spec,
  };
}

/** An ALLOW AuthorizationPolicy selecting app=backend in demo unless told otherwise; `rules` undefined = `spec: {}`-like. */
export const allow = (name: string, rules?: unknown[], init?: PolicyInit): Doc => policy('ALLOW', name, rules, init);
export const deny = (name: string, rules?: unknown[], init?: PolicyInit): Doc => policy('DENY', name, rules, init);
export const withAction = (action: string, name: string, rules?: unknown[], init?: PolicyInit): Doc => policy(action, name, rules, init);
/** `spec: {}` exactly (no action, no selector, no rules). */
export const emptySpec = (name: string, namespace = 'demo'): Doc => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace },
  spec: {},
});

export function peerAuthentication(name: string, namespace: string, spec: Record<string, unknown>, creationTimestamp?: string): Doc {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name, namespace, ...(creationTimestamp === undefined ? {} : { creationTimestamp }) },
    spec,
  };
}

export const from = (source: Record<string, unknown>): { from: { source: Record<string, unknown> }[] } => ({ from: [{ source }] });
export const to = (operation: Record<string, unknown>): { to: { operation: Record<string, unknown> }[] } => ({ to: [{ operation }] });
export const when = (key: string, values?: string[], notValues?: string[]): { when: Record<string, unknown>[] } => ({
  when: [{ key, ...(values === undefined ? {} : { values }), ...(notValues === undefined ? {} : { notValues }) }],
});
