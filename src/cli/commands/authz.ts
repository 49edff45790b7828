/**
 * `ambit x authz check`: decides offline whether the node agent would let a
 * connection through. The AuthorizationPolicy and PeerAuthentication objects
 * of the given files are validated and converted exactly as istiod converts
 * them (the ambient index, fed with the objects and a stand-in destination
 * workload with the given namespace, labels and IP), and the result is
 * evaluated with the node agent's L4 authorization.
 * Exit codes: 0 for both decisions, 1 when a file is unreadable or holds an
 * invalid object, 2 on a usage error.
 */
import { clone } from '@bufbuild/protobuf';
import { Command, Option } from 'commander';
import { AuthorizationSchema, type Authorization } from '../../gen/istio/security/authorization_pb.js';
import { DEFAULT_ROOT_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../../istiod/index.js';
import { loadConfigFiles } from '../../istiod/index.js';
import { ConfigStore } from '../../istiod/index.js';
import type { AnyConfigObject, ConfigObject } from '../../istiod/index.js';
import { validateDocument } from '../../istiod/index.js';
import { AmbientIndex } from '../../istiod/index.js';
import {
  evaluate,
  parseIp,
  peerIdentity,
  PolicySet,
  prepareConnection,
  type ConnectionAttributes,
  type Decision,
  type WorkloadPolicyRef,
} from '../../ztunnel/index.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

/** The name of the stand-in WorkloadEntry that plays the destination workload. */
export const DESTINATION_WORKLOAD_NAME = 'ambit-authz-check-destination';
const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
const USED_KINDS: ReadonlySet<string> = new Set(['AuthorizationPolicy', 'PeerAuthentication']);

/** The destination workload a check is about. */
export interface CheckDestination {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
}

export interface CheckOptions {
  readonly rootNamespace: string;
  /**
   * Send dry-run policies (`istio.io/dry-run: "true"`) with the dry-run flag,
   * as istiod does with AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY; they are
   * reported, never enforced. Off: they are not sent at all (istiod's default).
   */
  readonly includeDryRun?: boolean;
}

/** What istiod would send for the destination: its policy keys, the resources, and conversion notes. */
export interface ResolvedPolicies {
  readonly policies: PolicySet;
  readonly workload: WorkloadPolicyRef;
  /** "<ns>/<name>: <why the policy is not sent or is narrowed>", sorted. */
  readonly notes: readonly string[];
}

function isDryRun(o: ConfigObject<'AuthorizationPolicy'>): boolean {
  const v = o.metadata.annotations[DRY_RUN_ANNOTATION];
  return v !== undefined && ['1', 't', 'true'].includes(v.toLowerCase());
}

function withoutDryRunAnnotation(o: ConfigObject<'AuthorizationPolicy'>): ConfigObject<'AuthorizationPolicy'> {
  const annotations = { ...o.metadata.annotations };
  delete annotations[DRY_RUN_ANNOTATION];
  return { ...o, metadata: { ...o.metadata, annotations } };
}

/**
 * Converts the objects as istiod does and returns the policies and the
 * policy keys of a destination workload in `destination.namespace` with
 * `destination.labels`. Objects of other kinds are ignored.
 */
export function resolvePolicies(objects: readonly AnyConfigObject[], destination: CheckDestination, options: CheckOptions): ResolvedPolicies {
  const store = new ConfigStore();
  const dryRunKeys = new Set<string>();
  store.batch(() => {
    for (const o of objects) {
      if (o.kind === 'AuthorizationPolicy' && options.includeDryRun === true && isDryRun(o)) {
        dryRunKeys.add(`${o.metadata.namespace}/${o.metadata.name}`);
        store.upsert(withoutDryRunAnnotation(o));
      } else if (USED_KINDS.has(o.kind)) {
        store.upsert(o);
      }
    }
    const entry: ConfigObject<'WorkloadEntry'> = {
      kind: 'WorkloadEntry',
      apiVersion: 'networking.istio.io/v1',
      metadata: { name: DESTINATION_WORKLOAD_NAME, namespace: destination.namespace, labels: { ...destination.labels }, annotations: {} },
      spec: { address: destination.ip },
      origin: { source: 'authz-check' },
    };
    store.upsert(entry);
  });
  const index = new AmbientIndex(store, {
    trustDomain: DEFAULT_TRUST_DOMAIN,
    clusterId: 'Kubernetes',
    rootNamespace: options.rootNamespace,
    domainSuffix: 'cluster.local',
    network: '',
  });
  try {
    const w = index.workloads().find((x) => x.name === DESTINATION_WORKLOAD_NAME && x.namespace === destination.namespace);
    const resources: Authorization[] = index.authorizations().map((a) => {
      if (!dryRunKeys.has(`${a.namespace}/${a.name}`)) return a;
      const c = clone(AuthorizationSchema, a);
      c.dryRun = true;
      return c;
    });
    const policies = new PolicySet();
    policies.replaceAll(resources);
    const notes: string[] = [];
    for (const o of objects) {
      if (o.kind !== 'AuthorizationPolicy') continue;
      const key = `${o.metadata.namespace}/${o.metadata.name}`;
      const status = index.policyStatus(key);
      if (status !== undefined && !dryRunKeys.has(key)) notes.push(`${key}: ${status}`);
    }
    notes.sort();
    return {
      policies,
      workload: { namespace: destination.namespace, authorizationPolicies: [...(w?.authorizationPolicies ?? [])] },
      notes,
    };
  } finally {
    index.close();
  }
}

/** The whole check: resolve as istiod, then decide as the node agent. */
export function checkAuthorization(
  objects: readonly AnyConfigObject[],
  destination: CheckDestination,
  connection: Omit<ConnectionAttributes, 'destinationIp'>,
  options: CheckOptions,
): { readonly decision: Decision; readonly resolved: ResolvedPolicies; readonly applied: readonly string[] } {
  const resolved = resolvePolicies(objects, destination, options);
  const applicable = resolved.policies.applicableTo(resolved.workload);
  const decision = evaluate(applicable.policies, prepareConnection({ ...connection, destinationIp: destination.ip }));
  return { decision, resolved, applied: applicable.policies.map((p) => p.key) };
}

/** "k=v,k2=v2" to labels; throws a message on a malformed pair. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    if (eq < 0 || key === '') throw new Error(`--dest-labels: "${part}" is not of the form key=value`);
    labels[key] = part.slice(eq + 1).trim();
  }
  return labels;
}

/** Accepts "spiffe://td/ns/x/sa/y" or "td/ns/x/sa/y"; returns the form without "spiffe://". */
export function parsePrincipal(text: string): string {
  const id = peerIdentity(text);
  if (id.serviceAccount === undefined) {
    throw new Error(`--source-principal: "${text}" is not of the form [spiffe://]<trust-domain>/ns/<namespace>/sa/<service-account>`);
  }
  return id.principal;
}

interface CheckFlags {
  filename: string[];
  sourcePrincipal?: string;
  plaintext?: boolean;
  sourceIp: string;
  destNamespace: string;
  destLabels?: string;
  destIp: string;
  port: string;
  rootNamespace: string;
  dryRunPolicies?: boolean;
  output: 'text' | 'json';
}

/** Reads and validates every document; returns the objects, or every problem as "file[index] Kind/ns/name: path: message". */
async function loadObjects(paths: readonly string[]): Promise<{ objects: AnyConfigObject[]; problems: string[] }> {
  const objects: AnyConfigObject[] = [];
  const problems: string[] = [];
  for (const f of await loadConfigFiles(paths)) {
    if (f.kind === 'unreadable') {
      problems.push(f.error.message);
      continue;
    }
    for (const doc of f.documents) {
      const where = `${f.file}[${doc.index}]`;
      if (doc.kind === 'parse-error') {
        problems.push(`${where}: ${doc.message}${doc.line !== undefined ? ` (line ${doc.line})` : ''}`);
        continue;
      }
      const result = validateDocument(doc.raw, { source: 'file', file: f.file, index: doc.index });
      if (result.kind === 'valid') {
        objects.push(result.object);
        continue;
      }
      const who = result.objectKind === undefined ? '' : ` ${result.objectKind}/${result.namespace ?? ''}/${result.name ?? ''}`;
      for (const e of result.errors) problems.push(`${where}${who}: ${e.path}: ${e.message}`);
    }
  }
  return { objects, problems };
}

function describe(decision: Decision): string {
  const word = decision.kind === 'allow' ? 'ALLOW' : 'DENY';
  if (decision.policy !== undefined) return `${word} by ${decision.policy} rule ${decision.rule ?? 0}`;
  return decision.reason === 'no-allow-match' ? `${word} (no ALLOW policy matched)` : `${word} (no ALLOW policy applies)`;
}

/** The text report: the decision line, then one line per matching dry-run policy. */
export function formatDecisionText(decision: Decision): string {
  const lines = [describe(decision)];
  for (const d of decision.dryRun ?? []) lines.push(`dry-run: ${d.policy} would ${d.action} (rule ${d.rule})`);
  return `${lines.join('\n')}\n`;
}

/** The JSON report: `{"decision","policy","rule"}`, plus `dryRun` when dry-run policies were evaluated. */
export function formatDecisionJson(decision: Decision, includeDryRun: boolean): string {
  const out: Record<string, unknown> = {
    decision: decision.kind === 'allow' ? 'ALLOW' : 'DENY',
    policy: decision.policy ?? null,
    rule: decision.rule ?? null,
  };
  if (includeDryRun) out['dryRun'] = decision.dryRun ?? [];
  return `${JSON.stringify(out)}\n`;
}

const HELP_AFTER = `
Only AuthorizationPolicy and PeerAuthentication objects are used; other kinds
in the files are validated and ignored. Policies are converted as istiod does
for the node agent (targetRef policies, AUDIT/CUSTOM and, by default, dry-run
policies are not sent; HTTP-only rules are dropped from ALLOW policies and
trimmed from DENY ones) and attached to a destination workload in
--dest-namespace with --dest-labels (selector policies of that namespace and
of the root namespace). Conversion notes are printed on stderr.

Output: "ALLOW" or "DENY" with the deciding policy and rule, e.g.
  DENY by demo/deny-frontend rule 0
  -o json: {"decision":"DENY","policy":"demo/deny-frontend","rule":0}

Exit codes: 0 for either decision, 1 when a file is unreadable or invalid,
2 on a usage error.

Example:
  ambit x authz check -f policies.yaml --source-principal cluster.local/ns/web/sa/frontend \\
    --source-ip 10.0.0.5 --dest-namespace demo --dest-labels app=backend --dest-ip 10.0.0.9 --port 8080
`;

/** The `x` (experimental) group, created once and shared by its subcommands. */
function experimentalGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'x');
  return existing ?? program.command('x').description('Experimental commands');
}

export function registerAuthz(program: Command): void {
  const authz = experimentalGroup(program).command('authz').description('L4 authorization tools');
  const check = authz
    .command('check')
    .description('Decide whether the node agent would allow a connection, from policy files')
    .requiredOption(
      '-f, --filename <path>',
      'a policy file or directory (YAML or JSON, searched recursively); repeatable',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .addOption(new Option('--source-principal <id>', 'peer mTLS identity: spiffe://<td>/ns/<ns>/sa/<sa> or <td>/ns/<ns>/sa/<sa>').conflicts('plaintext'))
    .addOption(new Option('--plaintext', 'the peer has no mTLS identity (plaintext inbound)').conflicts('sourcePrincipal'))
    .requiredOption('--source-ip <ip>', 'peer IP address (IPv4 or IPv6)')
    .requiredOption('--dest-namespace <ns>', 'namespace of the destination workload')
    .option('--dest-labels <k=v,...>', 'labels of the destination workload, comma-separated', '')
    .requiredOption('--dest-ip <ip>', 'destination workload IP address')
    .requiredOption('--port <n>', 'destination (target) port, 1-65535')
    .option('--root-namespace <ns>', 'the mesh root namespace', DEFAULT_ROOT_NAMESPACE)
    .option('--dry-run-policies', 'send dry-run policies flagged as such and report them (never enforced)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: CheckFlags) => {
      const usage = (message: string): never => check.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'ambit.usage' });
      if (opts.sourcePrincipal === undefined && opts.plaintext !== true) usage('one of --source-principal or --plaintext is required');
      if (parseIp(opts.sourceIp) === undefined) usage(`--source-ip: "${opts.sourceIp}" is not an IPv4 or IPv6 address`);
      if (parseIp(opts.destIp) === undefined) usage(`--dest-ip: "${opts.destIp}" is not an IPv4 or IPv6 address`);
      if (!/^\d{1,5}$/.test(opts.port) || Number(opts.port) < 1 || Number(opts.port) > 65535) {
        usage(`--port: "${opts.port}" is not a port number (1-65535)`);
      }
      if (opts.destNamespace === '') usage('--dest-namespace must not be empty');
      let labels: Record<string, string> = {};
      let principal: string | undefined;
      try {
        labels = parseLabels(opts.destLabels ?? '');
        if (opts.sourcePrincipal !== undefined) principal = parsePrincipal(opts.sourcePrincipal);
      } catch (err) {
        usage(err instanceof Error ? err.message : String(err));
      }

      const { objects, problems } = await loadObjects(opts.filename);
      if (problems.length > 0) {
        process.stderr.write(`${problems.join('\n')}\n`);
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const includeDryRun = opts.dryRunPolicies === true;
      const { decision, resolved } = checkAuthorization(
        objects,
        { namespace: opts.destNamespace, labels, ip: opts.destIp },
        { sourceIp: opts.sourceIp, ...(principal === undefined ? {} : { sourcePrincipal: principal }), destinationPort: Number(opts.port) },
        { rootNamespace: opts.rootNamespace, includeDryRun },
      );
      for (const note of resolved.notes) process.stderr.write(`note: ${note}\n`);
      process.stdout.write(opts.output === 'json' ? formatDecisionJson(decision, includeDryRun) : formatDecisionText(decision));
      process.exitCode = EXIT_OK;
    });
}
