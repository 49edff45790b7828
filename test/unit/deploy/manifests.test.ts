import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { Command, type Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_GRPC_ADDR, DEFAULT_MONITORING_ADDR, DEFAULT_ROOT_NAMESPACE, DEFAULT_SECURE_GRPC_ADDR } from '../../../src/istiod/config.js';
import { CONFIG_KINDS, LOCAL_MESH_KINDS } from '../../../src/istiod/config/types.js';
import {
  DEFAULT_CA_TOKEN_AUDIENCES,
  DEFAULT_TRUSTED_NODE_ACCOUNTS,
  PLUGGED_IN_CA_SECRET,
  ROOT_CERT_CONFIGMAP,
  ROOT_CERT_CONFIGMAP_KEY,
  SELF_SIGNED_CA_SECRET,
} from '../../../src/istiod/ca/kubernetes/index.js';
import { ADMISSION_API_VERSIONS, DEFAULT_WEBHOOK_ADDR } from '../../../src/istiod/webhook/index.js';
import { supportedKinds } from '../../../src/istiod/config/validation/index.js';
import { WATCHED_RESOURCE_SPECS, configKindOf } from '../../../src/istiod/config/sources/kubernetes/resources.js';
import {
  DEFAULT_BPFFS_ROOT,
  DEFAULT_ENROLL_SOCKET,
  DEFAULT_READINESS_ADDR,
  DEFAULT_RECORDS_FILE,
  DEFAULT_ROOT_CERT_FILE,
  DEFAULT_STATS_ADDR,
  DEFAULT_TOKEN_FILE,
  DEFAULT_XDS_ADDRESS,
  parseAddr,
} from '../../../src/ztunnel/config.js';
import { REPO_ROOT, at, container, find, flagsOf, isObj, kustomizeVersion, list, parseStream, podSpec, render, strings, type K8sObject, type Obj } from './render.js';

const NAMESPACE = DEFAULT_ROOT_NAMESPACE;
/** Objects istiod creates at run time, so no manifest declares them. */
const CREATED_AT_RUN_TIME: readonly { kind: string; name: string; namespace: string | '*' }[] = [
  { kind: 'ConfigMap', name: ROOT_CERT_CONFIGMAP, namespace: '*' }, // the root bundle, in every namespace
  { kind: 'Secret', name: SELF_SIGNED_CA_SECRET, namespace: NAMESPACE }, // the self-signed root CA
  { kind: 'Secret', name: PLUGGED_IN_CA_SECRET, namespace: NAMESPACE }, // an operator's plug-in CA (optional)
];
/** Where the Dockerfile puts the repository's runtime files in the image. */
const IMAGE_APP_DIR = '/opt/ambit';
const EBPF_CAPABILITIES = ['BPF', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'SYS_RESOURCE'];

function commandOptions(register: (p: Command) => void, name: string): Map<string, Option> {
  const program = new Command('ambit');
  register(program);
  const cmd = program.commands.find((c) => c.name() === name);
  if (cmd === undefined) throw new Error(`the CLI has no ${name} subcommand`);
  return new Map(cmd.options.map((o) => [o.long ?? o.flags, o]));
}

/** The value a flag has in the container: its argument, else the CLI default. */
function effective(flags: Map<string, string>, options: Map<string, Option>, flag: string): string {
  const option = options.get(flag);
  assert.ok(option !== undefined, `the CLI has no ${flag} flag`);
  const v = flags.get(flag) ?? option.defaultValue;
  assert.equal(typeof v, 'string', `${flag} has neither a value in the manifest nor a default`);
  return v as string;
}

function checkFlagsKnown(flags: Map<string, string>, options: Map<string, Option>, what: string): void {
  for (const [flag, value] of flags) {
    const option = options.get(flag);
    assert.ok(option !== undefined, `${what} passes ${flag}, which the CLI does not define (known: ${[...options.keys()].join(' ')})`);
    if (option.required) assert.notEqual(value, 'true', `${what}: ${flag} needs a value`);
  }
  for (const [flag, option] of options) {
    if (option.mandatory && option.defaultValue === undefined) assert.ok(flags.has(flag), `${what} does not pass the required ${flag}`);
  }
}

function portOf(addr: string): number {
  return parseAddr('addr', addr).port;
}

function containerPorts(c: Obj): Map<string, number> {
  return new Map(list(c.ports).map((p) => [String(p.name), Number(p.containerPort)]));
}

function volumeMountFor(pod: Obj, c: Obj, mountPath: string): { mount: Obj; volume: Obj } {
  const mount = list(c.volumeMounts).find((m) => m.mountPath === mountPath);
  assert.ok(mount !== undefined, `container ${String(c.name)} mounts nothing at ${mountPath}`);
  const volume = list(pod.volumes).find((v) => v.name === mount.name);
  assert.ok(volume !== undefined, `volume ${String(mount.name)} is mounted but not declared`);
  return { mount, volume };
}

/** The mount whose path contains the file, deepest first. */
function mountHolding(pod: Obj, c: Obj, file: string): { mount: Obj; volume: Obj } {
  const mounts = list(c.volumeMounts)
    .filter((m) => typeof m.mountPath === 'string' && (file === m.mountPath || file.startsWith(`${m.mountPath}/`)))
    .sort((a, b) => String(b.mountPath).length - String(a.mountPath).length);
  const mount = mounts[0];
  assert.ok(mount !== undefined, `container ${String(c.name)} has no mount holding ${file}`);
  return volumeMountFor(pod, c, String(mount.mountPath));
}

function hostPathOf(volume: Obj): string {
  const p = at(volume, 'hostPath', 'path');
  assert.equal(typeof p, 'string', `volume ${String(volume.name)} is not a hostPath volume`);
  return p as string;
}

function envValue(c: Obj, name: string): string {
  const e = list(c.env).find((x) => x.name === name);
  assert.ok(e !== undefined && typeof e.value === 'string', `container ${String(c.name)} has no literal env ${name}`);
  return e.value as string;
}

function envField(c: Obj, name: string): string | undefined {
  const e = list(c.env).find((x) => x.name === name);
  const p = at(e, 'valueFrom', 'fieldRef', 'fieldPath');
  return typeof p === 'string' ? p : undefined;
}

/** Every ServiceAccount, ConfigMap and Secret an object refers to. */
function references(o: K8sObject): { kind: string; name: string; namespace: string; where: string }[] {
  const ns = o.metadata.namespace ?? '';
  const out: { kind: string; name: string; namespace: string; where: string }[] = [];
  const where = `${o.kind} ${ns}/${o.metadata.name}`;
  const pod = at(o, 'spec', 'template', 'spec');
  if (isObj(pod)) {
    out.push({ kind: 'ServiceAccount', name: String(pod.serviceAccountName ?? 'default'), namespace: ns, where });
    for (const v of list(pod.volumes)) {
      const cm = at(v, 'configMap', 'name');
      if (typeof cm === 'string') out.push({ kind: 'ConfigMap', name: cm, namespace: ns, where });
      const secret = at(v, 'secret', 'secretName');
      if (typeof secret === 'string') out.push({ kind: 'Secret', name: secret, namespace: ns, where });
      for (const src of list(at(v, 'projected', 'sources'))) {
        const pcm = at(src, 'configMap', 'name');
        if (typeof pcm === 'string') out.push({ kind: 'ConfigMap', name: pcm, namespace: ns, where });
        const ps = at(src, 'secret', 'name');
        if (typeof ps === 'string') out.push({ kind: 'Secret', name: ps, namespace: ns, where });
      }
    }
    for (const c of [...list(pod.containers), ...list(pod.initContainers)]) {
      for (const e of list(c.env)) {
        const cm = at(e, 'valueFrom', 'configMapKeyRef', 'name');
        if (typeof cm === 'string') out.push({ kind: 'ConfigMap', name: cm, namespace: ns, where });
        const s = at(e, 'valueFrom', 'secretKeyRef', 'name');
        if (typeof s === 'string') out.push({ kind: 'Secret', name: s, namespace: ns, where });
      }
      for (const e of list(c.envFrom)) {
        const cm = at(e, 'configMapRef', 'name');
        if (typeof cm === 'string') out.push({ kind: 'ConfigMap', name: cm, namespace: ns, where });
        const s = at(e, 'secretRef', 'name');
        if (typeof s === 'string') out.push({ kind: 'Secret', name: s, namespace: ns, where });
      }
    }
  }
  if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
    for (const s of list(o.subjects)) {
      if (s.kind === 'ServiceAccount') out.push({ kind: 'ServiceAccount', name: String(s.name), namespace: String(s.namespace ?? ns), where });
    }
  }
  return out;
}

function declared(objects: readonly K8sObject[], kind: string, name: string, namespace: string): boolean {
  return objects.some((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? '') === namespace);
}

const TARGETS = [
  { dir: 'deploy/base', image: 'ambit:0.1.0' },
  { dir: 'deploy/overlays/kind', image: 'ambit:dev' },
] as const;

describe('deploy manifests (kubectl kustomize)', function () {
  this.timeout(60_000);

  let ztunnelOptions = new Map<string, Option>();
  // Loaded on use rather than at the top, so a subcommand module that fails to load fails only the tests that need it.
  let istiodLoad: Promise<Map<string, Option>> | undefined;
  const istiodOptionsOf = (): Promise<Map<string, Option>> =>
    (istiodLoad ??= import('../../../src/cli/commands/istiod.js').then((m) => commandOptions(m.registerIstiod, 'istiod')));
  before(async () => {
    ztunnelOptions = commandOptions((await import('../../../src/cli/commands/ztunnel.js')).registerZtunnel, 'ztunnel');
  });

  for (const target of TARGETS) {
    describe(target.dir, () => {
      let objects: K8sObject[] = [];
      before(() => {
        objects = render(target.dir);
      });

      const daemonSet = (): K8sObject => find(objects, 'DaemonSet', 'ztunnel', NAMESPACE);
      const agent = (): Obj => container(daemonSet(), 'istio-proxy');
      const agentFlags = (): Map<string, string> => flagsOf(strings(agent().args), 'ztunnel');
      const istiod = (): K8sObject => find(objects, 'Deployment', 'istiod', NAMESPACE);
      const discovery = (): Obj => container(istiod(), 'discovery');
      const istiodFlags = (): Map<string, string> => flagsOf(strings(discovery().args), 'istiod');

      it('renders objects that all have a namespace that is declared, or are cluster-scoped', () => {
        const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration']);
        for (const o of objects) {
          if (clusterScoped.has(o.kind)) {
            assert.equal(o.metadata.namespace, undefined, `${o.kind} ${o.metadata.name} is cluster-scoped`);
          } else {
            assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind} ${o.metadata.name} is not in ${NAMESPACE}`);
          }
        }
        find(objects, 'Namespace', NAMESPACE);
      });

      it('passes the node agent only flags that `ambit ztunnel` defines, with values where they need one', () => {
        checkFlagsKnown(agentFlags(), ztunnelOptions, 'the ztunnel DaemonSet');
      });

      it("gives the node agent the CLI's default paths and istiod's TLS xDS address", () => {
        const flags = agentFlags();
        const table: [string, string][] = [
          ['--root-cert', DEFAULT_ROOT_CERT_FILE],
          ['--token-file', DEFAULT_TOKEN_FILE],
          ['--enroll-socket', DEFAULT_ENROLL_SOCKET],
          ['--records-file', DEFAULT_RECORDS_FILE],
          ['--bpffs-root', DEFAULT_BPFFS_ROOT],
          ['--xds-address', DEFAULT_XDS_ADDRESS],
        ];
        for (const [flag, expected] of table) assert.equal(effective(flags, ztunnelOptions, flag), expected, flag);
        assert.ok(!flags.has('--xds-plaintext'), 'the agent must use TLS xDS in a cluster');
        const [host, port] = DEFAULT_XDS_ADDRESS.split(':');
        assert.equal(host, `istiod.${NAMESPACE}.svc`);
        const service = find(objects, 'Service', 'istiod', NAMESPACE);
        assert.ok(list(at(service, 'spec', 'ports')).some((p) => p.port === Number(port) && p.name === 'https-dns'), `Service istiod has no https-dns port ${port}`);
      });

      it("exposes the agent's stats and readiness ports and probes /healthz/ready on the readiness port", () => {
        const flags = agentFlags();
        const statsPort = portOf(effective(flags, ztunnelOptions, '--stats-addr'));
        const readinessPort = portOf(effective(flags, ztunnelOptions, '--readiness-addr'));
        assert.equal(statsPort, portOf(DEFAULT_STATS_ADDR));
        assert.equal(readinessPort, portOf(DEFAULT_READINESS_ADDR));
        const ports = containerPorts(agent());
        assert.deepEqual([...ports.values()].sort(), [statsPort, readinessPort].sort());
        assert.equal(ports.get('http-monitoring'), statsPort);
        const probe = at(agent(), 'readinessProbe', 'httpGet');
        assert.deepEqual({ path: at(probe, 'path'), port: at(probe, 'port') }, { path: '/healthz/ready', port: readinessPort });
        const annotations = at(daemonSet(), 'spec', 'template', 'metadata', 'annotations');
        assert.deepEqual(
          { scrape: at(annotations, 'prometheus.io/scrape'), port: at(annotations, 'prometheus.io/port'), path: at(annotations, 'prometheus.io/path') },
          { scrape: 'true', port: String(statsPort), path: '/metrics' },
        );
      });

      it('sets NODE_NAME, POD_NAME, POD_NAMESPACE and INSTANCE_IP from the downward API', () => {
        const table: [string, string][] = [
          ['NODE_NAME', 'spec.nodeName'],
          ['POD_NAME', 'metadata.name'],
          ['POD_NAMESPACE', 'metadata.namespace'],
          ['INSTANCE_IP', 'status.podIP'],
        ];
        for (const [name, fieldPath] of table) assert.equal(envField(agent(), name), fieldPath, name);
      });

      it('mounts the host paths eBPF and enrollment need into the agent', () => {
        const pod = podSpec(daemonSet());
        const flags = agentFlags();
        const table: { what: string; path: string; host: string; propagation?: string }[] = [
          { what: 'bpffs', path: effective(flags, ztunnelOptions, '--bpffs-root'), host: '/sys/fs/bpf', propagation: 'HostToContainer' },
          { what: 'cgroup v2', path: '/sys/fs/cgroup', host: '/sys/fs/cgroup' },
          { what: 'runtime network namespaces', path: '/var/run/netns', host: '/var/run/netns', propagation: 'HostToContainer' },
          { what: 'enrollment socket directory', path: dirname(effective(flags, ztunnelOptions, '--enroll-socket')), host: '/var/run/ambit' },
        ];
        for (const row of table) {
          const { mount, volume } = volumeMountFor(pod, agent(), row.path);
          assert.equal(hostPathOf(volume), row.host, row.what);
          if (row.propagation !== undefined) assert.equal(mount.mountPropagation, row.propagation, `${row.what} propagation`);
        }
        const records = mountHolding(pod, agent(), effective(flags, ztunnelOptions, '--records-file'));
        assert.equal(hostPathOf(records.volume), '/var/run/ambit', 'the enrolled-pod records survive agent restarts');
        assert.equal(pod.hostPID, true, '/proc/<pid>/ns/net paths from the runtime must resolve in the agent');
      });

      it('mounts the istio-ca token at --token-file and the root ConfigMap at --root-cert', () => {
        const pod = podSpec(daemonSet());
        const flags = agentFlags();
        const token = effective(flags, ztunnelOptions, '--token-file');
        const { mount: tokenMount, volume: tokenVolume } = mountHolding(pod, agent(), token);
        const sa = list(at(tokenVolume, 'projected', 'sources')).map((s) => at(s, 'serviceAccountToken')).find(isObj);
        assert.ok(sa !== undefined, 'the token volume has no serviceAccountToken source');
        assert.ok(DEFAULT_CA_TOKEN_AUDIENCES.includes(String(sa.audience)), `audience ${String(sa.audience)} is one istiod accepts`);
        assert.equal(posix.join(String(tokenMount.mountPath), String(sa.path)), token);
        assert.ok(Number(sa.expirationSeconds) >= 600, 'token lifetime');
        const root = effective(flags, ztunnelOptions, '--root-cert');
        const { mount: rootMount, volume: rootVolume } = mountHolding(pod, agent(), root);
        assert.equal(at(rootVolume, 'configMap', 'name'), ROOT_CERT_CONFIGMAP);
        assert.equal(posix.relative(String(rootMount.mountPath), root), ROOT_CERT_CONFIGMAP_KEY, 'the ConfigMap key istiod writes');
      });

      it('grants the agent the capabilities eBPF needs, without privileged mode', () => {
        const sc = at(agent(), 'securityContext');
        assert.equal(at(sc, 'privileged'), false);
        assert.deepEqual(strings(at(sc, 'capabilities', 'add')).sort(), [...EBPF_CAPABILITIES].sort());
        assert.deepEqual(strings(at(sc, 'capabilities', 'drop')), ['ALL']);
        // The API server refuses allowPrivilegeEscalation: false beside CAP_SYS_ADMIN.
        assert.notEqual(at(sc, 'allowPrivilegeEscalation'), false);
        assert.equal(at(sc, 'runAsUser'), 0);
      });

      it("runs the agent as a ServiceAccount istiod trusts to request workloads' certificates, and tells istiod its namespace", () => {
        const sa = String(podSpec(daemonSet()).serviceAccountName);
        find(objects, 'ServiceAccount', sa, NAMESPACE);
        const env = list(discovery().env);
        const literal = env.find((e) => e.name === 'CA_TRUSTED_NODE_ACCOUNTS')?.value;
        const trusted = typeof literal === 'string' ? literal.split(',').map((a) => a.trim()) : [...DEFAULT_TRUSTED_NODE_ACCOUNTS];
        assert.ok(trusted.includes(`${NAMESPACE}/${sa}`), `${NAMESPACE}/${sa} is not in ${trusted.join(',')}`);
        assert.equal(envField(discovery(), 'POD_NAMESPACE'), 'metadata.namespace');
      });

      it('runs on every Linux node: tolerates all taints, rolls one node at a time, requests resources', () => {
        const pod = podSpec(daemonSet());
        assert.ok(list(pod.tolerations).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), 'a toleration for every taint');
        assert.equal(at(pod, 'nodeSelector', 'kubernetes.io/os'), 'linux');
        assert.equal(at(daemonSet(), 'spec', 'updateStrategy', 'type'), 'RollingUpdate');
        assert.ok(at(daemonSet(), 'spec', 'updateStrategy', 'rollingUpdate', 'maxUnavailable') !== undefined);
        assert.equal(pod.hostNetwork, true, 'the agent must not depend on the CNI plugin it installs');
        assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet', 'istiod.istio-system.svc must resolve from the host network');
        for (const c of [...list(pod.containers), ...list(pod.initContainers)]) {
          assert.ok(at(c, 'resources', 'requests', 'cpu') !== undefined && at(c, 'resources', 'requests', 'memory') !== undefined, `${String(c.name)} requests`);
        }
      });

      it('installs the CNI plugin from an init container into the host CNI directories, pointing at the agent socket', () => {
        const pod = podSpec(daemonSet());
        const init = container(daemonSet(), 'install-cni', 'initContainers');
        const command = strings(init.command);
        const script = command.find((a) => a.endsWith('.mjs')) ?? '';
        assert.ok(script.startsWith(`${IMAGE_APP_DIR}/`), `install script ${script} is inside the image's app dir`);
        assert.ok(existsSync(join(REPO_ROOT, relative(IMAGE_APP_DIR, script))), `${script} exists in the repository`);
        assert.ok(readFileSync(join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8').includes(relative(IMAGE_APP_DIR, script)), 'the Dockerfile copies the install script');
        assert.equal(envValue(init, 'AMBIT_AGENT_SOCKET'), effective(agentFlags(), ztunnelOptions, '--enroll-socket'));
        assert.equal(envValue(init, 'AMBIT_CGROUP_ROOT'), '/sys/fs/cgroup');
        const table: [string, string][] = [
          ['CNI_BIN_DIR', '/opt/cni/bin'],
          ['CNI_NET_DIR', '/etc/cni/net.d'],
          ['AMBIT_INSTALL_DIR', envValue(init, 'AMBIT_HOST_INSTALL_PATH')],
        ];
        for (const [name, host] of table) {
          const { volume } = volumeMountFor(pod, init, envValue(init, name));
          assert.equal(hostPathOf(volume), host, name);
        }
        assert.equal(init.image, target.image);
      });

      it('runs every container from the one ambit image', () => {
        for (const w of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')) {
          const pod = podSpec(w);
          for (const c of [...list(pod.containers), ...list(pod.initContainers)]) assert.equal(c.image, target.image, `${w.metadata.name}/${String(c.name)}`);
        }
      });

      it('declares every ServiceAccount, ConfigMap and Secret it refers to, except those istiod creates at run time', () => {
        const refs = objects.flatMap(references);
        assert.ok(refs.length > 0);
        for (const r of refs) {
          const runtime = CREATED_AT_RUN_TIME.some((c) => c.kind === r.kind && c.name === r.name && (c.namespace === '*' || c.namespace === r.namespace));
          assert.ok(runtime || declared(objects, r.kind, r.name, r.namespace), `${r.where} refers to ${r.kind} ${r.namespace}/${r.name}, which is not declared`);
        }
        for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
          const ref = at(b, 'roleRef');
          assert.ok(declared(objects, String(at(ref, 'kind')), String(at(ref, 'name')), at(ref, 'kind') === 'Role' ? (b.metadata.namespace ?? '') : ''), `${b.kind} ${b.metadata.name}: roleRef`);
        }
      });

      it('declares a CRD for exactly the Istio kinds the validator knows, serving exactly its apiVersions with v1 stored', () => {
        const expected = new Map<string, string[]>();
        for (const { kind, apiVersions } of supportedKinds().filter((k) => k.group.endsWith('.istio.io'))) {
          for (const apiVersion of apiVersions) {
            const slash = apiVersion.indexOf('/');
            if (slash < 0) continue; // core Kubernetes kinds
            const key = `${apiVersion.slice(0, slash)}/${kind}`;
            expected.set(key, [...(expected.get(key) ?? []), apiVersion.slice(slash + 1)]);
          }
        }
        const supported = new Set(supportedKinds().map((k) => k.kind));
        assert.deepEqual(CONFIG_KINDS.filter((k) => !LOCAL_MESH_KINDS.includes(k)).sort(), [...supported].sort(), 'the validator covers every config kind istiod serves');
        const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition' && String(at(o, 'spec', 'group')).endsWith('.istio.io'));
        const actual = new Map<string, string[]>();
        for (const crd of crds) {
          const group = String(at(crd, 'spec', 'group'));
          const names = at(crd, 'spec', 'names');
          const kind = String(at(names, 'kind'));
          assert.equal(crd.metadata.name, `${String(at(names, 'plural'))}.${group}`);
          assert.equal(at(names, 'singular'), kind.toLowerCase());
          assert.equal(at(crd, 'spec', 'scope'), 'Namespaced');
          const versions = list(at(crd, 'spec', 'versions'));
          assert.deepEqual(versions.filter((v) => v.storage === true).map((v) => v.name), ['v1'], `${kind}: v1 is the one storage version`);
          for (const v of versions) {
            assert.equal(at(v, 'schema', 'openAPIV3Schema', 'properties', 'spec', 'x-kubernetes-preserve-unknown-fields'), true, `${kind} ${String(v.name)}`);
          }
          actual.set(`${group}/${kind}`, versions.filter((v) => v.served === true).map((v) => String(v.name)));
        }
        const sortMap = (m: Map<string, string[]>): [string, string[]][] => [...m].map(([k, v]): [string, string[]] => [k, [...v].sort()]).sort(([a], [b]) => a.localeCompare(b));
        assert.deepEqual(sortMap(actual), sortMap(expected));
      });

      it('declares a structural CRD for every Gateway API kind, served only at versions the validator accepts, with one storage version', () => {
        const gatewayKinds = supportedKinds().filter((k) => k.group === 'gateway.networking.k8s.io');
        assert.equal(gatewayKinds.length, 6);
        const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition' && at(o, 'spec', 'group') === 'gateway.networking.k8s.io');
        assert.deepEqual(crds.map((c) => String(at(c, 'spec', 'names', 'kind'))).sort(), gatewayKinds.map((k) => k.apiKind).sort());
        for (const k of gatewayKinds) {
          const crd = crds.find((c) => at(c, 'spec', 'names', 'kind') === k.apiKind);
          assert.ok(crd !== undefined);
          const plural = String(at(crd, 'spec', 'names', 'plural'));
          assert.equal(crd.metadata.name, `${plural}.gateway.networking.k8s.io`);
          assert.equal(WATCHED_RESOURCE_SPECS.find((s) => configKindOf(s) === k.kind)?.plural, plural, `${k.kind}: the source watches the CRD's plural`);
          assert.equal(at(crd, 'spec', 'scope'), k.namespaced ? 'Namespaced' : 'Cluster', k.kind);
          const versions = list(at(crd, 'spec', 'versions'));
          assert.equal(versions.filter((v) => v.storage === true).length, 1, `${k.kind}: one storage version`);
          for (const v of versions) {
            assert.ok(k.apiVersions.includes(`gateway.networking.k8s.io/${String(v.name)}`), `${k.kind} ${String(v.name)} is accepted by the validator`);
            const spec = at(v, 'schema', 'openAPIV3Schema', 'properties', 'spec');
            assert.equal(at(spec, 'type'), 'object');
            assert.notEqual(at(spec, 'x-kubernetes-preserve-unknown-fields'), true, `${k.kind}: a structural spec schema`);
            assert.ok(isObj(at(spec, 'properties')), `${k.kind}: spec declares its fields`);
          }
        }
        const gateway = crds.find((c) => at(c, 'spec', 'names', 'kind') === 'Gateway');
        const listeners = at(list(at(gateway, 'spec', 'versions'))[0], 'schema', 'openAPIV3Schema', 'properties', 'spec', 'properties', 'listeners');
        assert.deepEqual([at(listeners, 'minItems'), at(listeners, 'maxItems')], [1, 64]);
        assert.deepEqual(at(listeners, 'items', 'properties', 'tls', 'properties', 'mode', 'enum'), ['Terminate', 'Passthrough']);
        assert.deepEqual([at(listeners, 'items', 'properties', 'port', 'minimum'), at(listeners, 'items', 'properties', 'port', 'maximum')], [1, 65535]);
        assert.ok(list(at(listeners, 'x-kubernetes-validations')).some((r) => String(r.message).includes('Listener name must be unique')));
        const http = crds.find((c) => at(c, 'spec', 'names', 'kind') === 'HTTPRoute');
        const rules = at(list(at(http, 'spec', 'versions'))[0], 'schema', 'openAPIV3Schema', 'properties', 'spec', 'properties', 'rules');
        assert.equal(at(rules, 'maxItems'), 16);
        assert.equal(at(rules, 'items', 'properties', 'matches', 'maxItems'), 64);
        assert.equal(at(rules, 'items', 'properties', 'backendRefs', 'maxItems'), 16);
        assert.deepEqual(at(rules, 'items', 'properties', 'matches', 'items', 'properties', 'path', 'properties', 'type', 'enum'), ['Exact', 'PathPrefix', 'RegularExpression']);
      });

      it('passes istiod only flags that `ambit istiod` defines, including --kubernetes', async () => {
        const istiodOptions = await istiodOptionsOf();
        const flags = istiodFlags();
        checkFlagsKnown(flags, istiodOptions, 'the istiod Deployment');
        assert.equal(flags.get('--kubernetes'), 'true');
      });

      it("keeps istiod's unauthenticated plaintext xDS on the pod's loopback, exposed nowhere", () => {
        const flags = istiodFlags();
        const grpcAddr = flags.get('--grpc-addr') ?? DEFAULT_GRPC_ADDR;
        assert.equal(grpcAddr.split(':')[0], '127.0.0.1', `--grpc-addr ${grpcAddr}`);
        const ports = containerPorts(discovery());
        assert.ok(![...ports.values()].includes(portOf(grpcAddr)), 'istiod exposes its plaintext xDS port');
        const service = find(objects, 'Service', 'istiod', NAMESPACE);
        const servicePorts = list(at(service, 'spec', 'ports'));
        assert.ok(!servicePorts.some((p) => p.port === portOf(grpcAddr) || p.name === 'grpc-xds'), 'Service istiod exposes plaintext xDS');
      });

      it("exposes istiod's default ports on its container and Service under Istio's port names", () => {
        const flags = istiodFlags();
        const table: { name: string; servicePort?: number; containerPort: number }[] = [
          { name: 'https-dns', containerPort: portOf(flags.get('--secure-grpc-addr') ?? DEFAULT_SECURE_GRPC_ADDR) },
          { name: 'http-monitoring', containerPort: portOf(flags.get('--monitoring-addr') ?? DEFAULT_MONITORING_ADDR) },
          { name: 'https-webhook', servicePort: 443, containerPort: portOf(flags.get('--webhook-addr') ?? DEFAULT_WEBHOOK_ADDR) },
        ];
        assert.deepEqual(
          table.map((r) => [r.name, r.containerPort]),
          [
            ['https-dns', 15012],
            ['http-monitoring', 15014],
            ['https-webhook', 15017],
          ],
        );
        const ports = containerPorts(discovery());
        const service = find(objects, 'Service', 'istiod', NAMESPACE);
        const servicePorts = list(at(service, 'spec', 'ports'));
        assert.equal(servicePorts.length, table.length);
        for (const row of table) {
          assert.equal(ports.get(row.name), row.containerPort, `container port ${row.name}`);
          const sp = servicePorts.find((p) => p.name === row.name);
          assert.ok(sp !== undefined, `Service port ${row.name}`);
          assert.equal(sp.port, row.servicePort ?? row.containerPort, `Service port ${row.name}`);
          const target = sp.targetPort;
          assert.equal(typeof target === 'string' ? ports.get(target) : target, row.containerPort, `Service ${row.name} targets the container port`);
        }
        const selector = at(service, 'spec', 'selector');
        const labels = at(istiod(), 'spec', 'template', 'metadata', 'labels');
        assert.ok(isObj(selector) && Object.entries(selector).every(([k, v]) => at(labels, k) === v), 'the Service selects the istiod pods');
      });

      it("probes istiod's /ready on the monitoring port and annotates it for scraping", () => {
        const monitoring = portOf(istiodFlags().get('--monitoring-addr') ?? DEFAULT_MONITORING_ADDR);
        assert.deepEqual({ path: at(discovery(), 'readinessProbe', 'httpGet', 'path'), port: at(discovery(), 'readinessProbe', 'httpGet', 'port') }, { path: '/ready', port: monitoring });
        const annotations = at(istiod(), 'spec', 'template', 'metadata', 'annotations');
        assert.equal(at(annotations, 'prometheus.io/scrape'), 'true');
        assert.equal(at(annotations, 'prometheus.io/port'), String(monitoring));
        assert.equal(at(annotations, 'prometheus.io/path'), '/metrics');
        assert.equal(at(podSpec(istiod()), 'serviceAccountName'), 'istiod');
      });

      it('lets istiod watch what it reads, review tokens, publish ConfigMaps everywhere and keep Secrets in its namespace', () => {
        const role = find(objects, 'ClusterRole', 'istiod-istio-system');
        const allows = (rules: Obj[], group: string, resource: string, verb: string): boolean =>
          rules.some((r) => strings(r.apiGroups).includes(group) && (strings(r.resources).includes(resource) || strings(r.resources).includes('*')) && strings(r.verbs).includes(verb));
        const cluster = list(role.rules);
        const table: [string, string, string][] = [
          ['', 'pods', 'watch'],
          ['', 'services', 'watch'],
          ['', 'namespaces', 'watch'],
          ['', 'serviceaccounts', 'watch'],
          ['discovery.k8s.io', 'endpointslices', 'watch'],
          ...supportedKinds()
            .filter((k) => k.group !== '')
            .flatMap((k): [string, string, string][] => {
              const plural = WATCHED_RESOURCE_SPECS.find((s) => configKindOf(s) === k.kind)?.plural ?? '';
              return [[k.group, plural, 'list'], [k.group, plural, 'watch']];
            }),
          ...['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tcproutes'].map((r): [string, string, string] => ['gateway.networking.k8s.io', `${r}/status`, 'update']),
          ['authentication.k8s.io', 'tokenreviews', 'create'],
          ['', 'configmaps', 'create'],
          ['', 'configmaps', 'update'],
        ];
        for (const [group, resource, verb] of table) assert.ok(allows(cluster, group, resource, verb), `ClusterRole allows ${verb} ${group}/${resource}`);
        assert.ok(!allows(cluster, '', 'secrets', 'get'), 'Secrets are not readable cluster-wide');
        const nsRole = find(objects, 'Role', 'istiod', NAMESPACE);
        for (const verb of ['get', 'watch', 'create', 'update']) assert.ok(allows(list(nsRole.rules), '', 'secrets', verb), `Role allows ${verb} secrets`);
        const bindings = objects.filter((o) => (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && list(o.subjects).some((s) => s.kind === 'ServiceAccount' && s.name === 'istiod'));
        assert.deepEqual(bindings.map((b) => `${b.kind}/${String(at(b, 'roleRef', 'name'))}`).sort(), ['ClusterRoleBinding/istiod-istio-system', 'RoleBinding/istiod']);
      });

      it('sends the Istio groups to istiod /validate through the Service port that targets the webhook listener', () => {
        const config = objects.find((o) => o.kind === 'ValidatingWebhookConfiguration');
        assert.ok(config !== undefined);
        const hooks = list(config.webhooks);
        assert.equal(hooks.length, 1);
        const hook = hooks[0] as Obj;
        const svc = at(hook, 'clientConfig', 'service');
        assert.deepEqual({ name: at(svc, 'name'), namespace: at(svc, 'namespace'), path: at(svc, 'path') }, { name: 'istiod', namespace: NAMESPACE, path: '/validate' });
        const service = find(objects, 'Service', 'istiod', NAMESPACE);
        const sp = list(at(service, 'spec', 'ports')).find((p) => p.port === at(svc, 'port'));
        assert.equal(sp?.name, 'https-webhook');
        assert.ok(strings(hook.admissionReviewVersions).length > 0);
        for (const v of strings(hook.admissionReviewVersions)) assert.ok(ADMISSION_API_VERSIONS.includes(`admission.k8s.io/${v}`), `istiod answers AdmissionReview ${v}`);
        assert.equal(hook.sideEffects, 'None');
        const groups = new Set(list(hook.rules).flatMap((r) => strings(r.apiGroups)));
        // As Istio's webhook: its own groups only; the Gateway API CRDs carry their own schema and CEL rules.
        const istioGroups = new Set(supportedKinds().map((k) => k.group).filter((g) => g.endsWith('.istio.io')));
        assert.deepEqual([...groups].sort(), [...istioGroups].sort());
        for (const r of list(hook.rules)) assert.deepEqual(strings(r.operations).sort(), ['CREATE', 'UPDATE']);
      });
    });
  }

  describe('deploy/overlays/kind specifics', () => {
    let objects: K8sObject[] = [];
    before(() => {
      objects = render('deploy/overlays/kind');
    });

    it('never pulls the locally loaded image', () => {
      for (const w of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')) {
        const pod = podSpec(w);
        for (const c of [...list(pod.containers), ...list(pod.initContainers)]) assert.equal(c.imagePullPolicy, 'Never', `${w.metadata.name}/${String(c.name)}`);
      }
    });

    it("chains after kindnet's conflist and lets istiod run on the control-plane node", () => {
      const init = container(find(objects, 'DaemonSet', 'ztunnel', NAMESPACE), 'install-cni', 'initContainers');
      assert.equal(envValue(init, 'CNI_CONF_NAME'), '10-kindnet.conflist');
      const tolerations = list(podSpec(find(objects, 'Deployment', 'istiod', NAMESPACE)).tolerations);
      assert.ok(tolerations.some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.effect === 'NoSchedule'));
    });

    it('ships a kind cluster configuration with a control-plane and a worker', () => {
      const config: unknown = parseYaml(readFileSync(join(REPO_ROOT, 'deploy/overlays/kind/kind-config.yaml'), 'utf8'));
      assert.equal(at(config, 'kind'), 'Cluster');
      assert.equal(at(config, 'apiVersion'), 'kind.x-k8s.io/v1alpha4');
      assert.deepEqual(list(at(config, 'nodes')).map((n) => n.role), ['control-plane', 'worker']);
    });
  });

  describe('deploy/components/servicemonitor', () => {
    let dir = '';
    afterEach(() => {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
      dir = '';
    });

    it("scrapes istiod's Service monitoring port and the agents' metrics port when added to the base", () => {
      const version = kustomizeVersion();
      assert.ok(
        version !== undefined && Number(/^v(\d+)/.exec(version)?.[1]) >= 4,
        `kubectl's built-in kustomize ${version ?? 'v2.0.3 (kubectl < 1.21)'} cannot add components; the servicemonitor component needs kubectl 1.21 or later`,
      );
      dir = mkdtempSync(join(tmpdir(), 'ambit-kustomize-'));
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'resources:',
          `  - ${relative(dir, join(REPO_ROOT, 'deploy/base'))}`,
          'components:',
          `  - ${relative(dir, join(REPO_ROOT, 'deploy/components/servicemonitor'))}`,
          '',
        ].join('\n'),
      );
      const objects = render(dir, ['--load-restrictor=LoadRestrictionsNone']);
      const sm = find(objects, 'ServiceMonitor', 'istiod', NAMESPACE);
      const service = find(objects, 'Service', 'istiod', NAMESPACE);
      const smPort = at(sm, 'spec', 'endpoints', 0, 'port');
      assert.ok(list(at(service, 'spec', 'ports')).some((p) => p.name === smPort && p.port === portOf(DEFAULT_MONITORING_ADDR)));
      assert.deepEqual(at(sm, 'spec', 'selector', 'matchLabels'), { app: 'istiod' });
      const pm = find(objects, 'PodMonitor', 'ztunnel', NAMESPACE);
      const agentPorts = containerPorts(container(find(objects, 'DaemonSet', 'ztunnel', NAMESPACE), 'istio-proxy'));
      assert.equal(agentPorts.get(String(at(pm, 'spec', 'podMetricsEndpoints', 0, 'port'))), portOf(DEFAULT_STATS_ADDR));
    });
  });

  describe('parseStream', () => {
    it('refuses a document that is not a Kubernetes object', () => {
      assert.throws(() => parseStream('kind: X\n---\n- a\n', 'test'), /not a Kubernetes object/);
      assert.equal(parseStream('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n', 'test').length, 1);
    });
  });
});
