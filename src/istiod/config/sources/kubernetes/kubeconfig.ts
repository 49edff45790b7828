/**
 * Where the API server is and how to authenticate to it: a kubeconfig file
 * (clusters, users, contexts; token, token file, client certificate, basic
 * auth; CA and TLS server name; insecure-skip-tls-verify) or the in-cluster
 * configuration (KUBERNETES_SERVICE_HOST/PORT, the service account's CA and
 * bound token, re-read from disk as the kubelet rotates it).
 *
 * Read here rather than through @kubernetes/client-node's KubeConfig: the
 * 2.x library loads undici 8, which needs Node 22.19 (it binds
 * zlib.createZstdDecompress at import), so it cannot be imported on the
 * Node 20 ambit runs on. Exec credential plugins and auth-provider entries
 * are not supported and are refused by name.
 *
 * The object has the `getCurrentCluster()` / `applyToHTTPSOptions()` shape
 * of a client-node KubeConfig, so code written against that shape takes it.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { errorMessage } from '../../../../shared/errors.js';
import { KubeSourceError } from './errors.js';

/** The in-cluster service-account files the kubelet mounts into every pod. */
export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A token file is re-read at most this often (client-go's period; the kubelet rotates bound tokens long before expiry). */
const TOKEN_FILE_REREAD_MS = 60_000;

export interface KubeConnectionParams {
  /** `https://host:port` (a path prefix is kept). */
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  readonly token?: string;
  /** Read per request (cached for a minute), so rotated tokens are used. */
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  /** Where this came from, for messages: a file path or "in-cluster". */
  readonly origin: string;
}

export class KubeConnection {
  readonly server: string;
  readonly origin: string;
  private readonly agent: http.Agent;
  private cachedToken: { value: string; readAt: number } | undefined;

  constructor(private readonly params: KubeConnectionParams) {
    this.server = params.server.replace(/\/+$/, '');
    this.origin = params.origin;
    // No keep-alive: lists are occasional, watches hold their own connection, and nothing idles open after stop.
    this.agent = this.server.startsWith('http:')
      ? new http.Agent()
      : new https.Agent({
          ...(params.ca !== undefined ? { ca: params.ca } : {}),
          ...(params.cert !== undefined ? { cert: params.cert } : {}),
          ...(params.key !== undefined ? { key: params.key } : {}),
          ...(params.tlsServerName !== undefined ? { servername: params.tlsServerName } : {}),
          rejectUnauthorized: params.insecureSkipTlsVerify !== true,
        });
  }

  /** KubeConfig-shaped accessor. */
  getCurrentCluster(): { readonly server: string } {
    return { server: this.server };
  }

  /** The Authorization header value for the next request, if the user has one. */
  authorization(): string | undefined {
    const p = this.params;
    if (p.tokenFile !== undefined) {
      const now = Date.now();
      if (this.cachedToken === undefined || now - this.cachedToken.readAt > TOKEN_FILE_REREAD_MS) {
        this.cachedToken = { value: readFileSync(p.tokenFile, 'utf8').trim(), readAt: now };
      }
      return `Bearer ${this.cachedToken.value}`;
    }
    if (p.token !== undefined) return `Bearer ${p.token}`;
    if (p.username !== undefined) return `Basic ${Buffer.from(`${p.username}:${p.password ?? ''}`).toString('base64')}`;
    return undefined;
  }

  /** KubeConfig-shaped: adds the agent (TLS material) and the Authorization header to request options. */
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const auth = this.authorization();
    opts.agent = this.agent;
    opts.headers = { ...(opts.headers as http.OutgoingHttpHeaders | undefined), ...(auth !== undefined ? { authorization: auth } : {}) };
  }

  /** The agent requests go through. */
  get httpAgent(): http.Agent {
    return this.agent;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function named(list: unknown, name: string, what: string, file: string): Record<string, unknown> {
  const entry = Array.isArray(list) ? list.find((e) => isRecord(e) && e['name'] === name) : undefined;
  if (!isRecord(entry) || !isRecord(entry[what])) {
    throw new KubeSourceError('KUBE_CONFIG_INVALID', `${file}: no ${what} named ${JSON.stringify(name)}`);
  }
  return entry[what];
}

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A file path (relative to the kubeconfig's directory) or base64 data, whichever is set. */
function material(o: Record<string, unknown>, fileKey: string, dataKey: string, base: string): Buffer | undefined {
  const data = str(o, dataKey);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const file = str(o, fileKey);
  if (file === undefined) return undefined;
  return readFileSync(isAbsolute(file) ? file : join(base, file));
}

/** Parses a kubeconfig's current context into connection parameters. */
export function parseKubeconfig(text: string, file: string): KubeConnectionParams {
  const doc: unknown = parse(text);
  if (!isRecord(doc)) throw new KubeSourceError('KUBE_CONFIG_INVALID', `${file}: not a kubeconfig`);
  const current = str(doc, 'current-context');
  if (current === undefined) throw new KubeSourceError('KUBE_CONFIG_INVALID', `${file}: no current-context`);
  const context = named(doc['contexts'], current, 'context', file);
  const clusterName = str(context, 'cluster');
  if (clusterName === undefined) throw new KubeSourceError('KUBE_CONFIG_INVALID', `${file}: context ${current} names no cluster`);
  const cluster = named(doc['clusters'], clusterName, 'cluster', file);
  const userName = str(context, 'user');
  const user = userName !== undefined ? named(doc['users'], userName, 'user', file) : {};
  for (const unsupported of ['exec', 'auth-provider']) {
    if (user[unsupported] !== undefined) {
      throw new KubeSourceError('KUBE_CONFIG_INVALID', `${file}: user ${userName ?? ''}: ${unsupported} credentials are not supported; use a token or client certificate`);
    }
  }
  const server = str(cluster, 'server');
  if (server === undefined) throw new KubeSourceError('KUBE_CONFIG_INVALID', `${file}: cluster ${clusterName} has no server`);
  const base = dirname(file);
  const ca = material(cluster, 'certificate-authority', 'certificate-authority-data', base);
  const cert = material(user, 'client-certificate', 'client-certificate-data', base);
  const key = material(user, 'client-key', 'client-key-data', base);
  const tokenFile = str(user, 'tokenFile');
  const token = str(user, 'token');
  const tlsServerName = str(cluster, 'tls-server-name');
  const username = str(user, 'username');
  const password = str(user, 'password');
  return {
    server,
    origin: file,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    ...(tokenFile !== undefined ? { tokenFile: isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile) } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** The in-cluster connection: the API service's address from the environment, the mounted CA and token. */
export function inClusterParams(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER_DIR): KubeConnectionParams {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === undefined || host === '') {
    throw new KubeSourceError('KUBE_CONFIG_INVALID', 'in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
  }
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    tokenFile: join(dir, 'token'),
    origin: 'in-cluster',
  };
}

/**
 * The connection to use: the named kubeconfig; otherwise the in-cluster
 * configuration when running in a pod; otherwise the first file of
 * $KUBECONFIG, or ~/.kube/config. Fails when none applies rather than
 * guessing an address.
 */
export function loadKubeConfig(options: { readonly kubeconfig?: string | undefined } = {}): KubeConnection {
  const fromFile = (file: string): KubeConnection => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new KubeSourceError('KUBE_CONFIG_INVALID', `kubeconfig ${file}: ${errorMessage(err)}`, { cause: err });
    }
    return new KubeConnection(parseKubeconfig(text, file));
  };
  try {
    if (options.kubeconfig !== undefined) return fromFile(options.kubeconfig);
    if ((process.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(join(IN_CLUSTER_DIR, 'token'))) {
      return new KubeConnection(inClusterParams());
    }
    const envFile = (process.env['KUBECONFIG'] ?? '').split(':').find((f) => f !== '');
    if (envFile !== undefined) return fromFile(envFile);
    const home = join(homedir(), '.kube', 'config');
    if (existsSync(home)) return fromFile(home);
  } catch (err) {
    if (err instanceof KubeSourceError) throw err;
    throw new KubeSourceError('KUBE_CONFIG_INVALID', `kubeconfig: ${errorMessage(err)}`, { cause: err });
  }
  throw new KubeSourceError(
    'KUBE_CONFIG_INVALID',
    'not running in a pod and no kubeconfig given (--kubeconfig, $KUBECONFIG or ~/.kube/config)',
  );
}
