/**
 * The CA's root kept in Kubernetes, like istiod's self-signed CA: the
 * `istio-ca-secret` Secret in istiod's namespace (`ca-cert.pem`,
 * `ca-key.pem`) is created on first start and reused afterwards, by every
 * replica. An operator-supplied `cacerts` Secret (Istio's plug-in layout:
 * `ca-cert.pem`, `ca-key.pem`, `cert-chain.pem`, `root-cert.pem`) wins when present.
 */
import type { Logger } from '../../../shared/logging.js';
import {
  DEFAULT_CA_KEY_TYPE,
  DEFAULT_ROOT_TTL_SECONDS,
  generateAuthority,
  type CaKeyType,
} from '../authority.js';
import { CaError } from '../errors.js';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CERT_CHAIN_FILE,
  ROOT_CERT_FILE,
  caMaterialFromPem,
  type CaMaterial,
} from '../material.js';
import { KubeCaError } from './errors.js';
import { asRecord, expectStatus, type KubeRestClient } from './rest-client.js';

/** istiod's self-signed root Secret. */
export const SELF_SIGNED_CA_SECRET = 'istio-ca-secret';
/** The operator's plug-in CA Secret. */
export const PLUGGED_IN_CA_SECRET = 'cacerts';
/** The Secret type istiod gives its self-signed root. */
export const CA_SECRET_TYPE = 'istio.io/ca-root';

export interface KubeCaMaterialOptions {
  readonly client: KubeRestClient;
  /** istiod's namespace, where both Secrets live. */
  readonly namespace: string;
  readonly trustDomain: string;
  readonly rootTtlSeconds?: number;
  readonly keyType?: CaKeyType;
  readonly logger: Logger;
}

function secretPath(namespace: string, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** The Secret's `data` decoded from base64 (keys with non-string values are left out). */
export function decodeSecretData(secret: unknown): Record<string, string> {
  const data = asRecord(asRecord(secret)?.['data']) ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  return out;
}

async function readSecret(
  client: KubeRestClient,
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const res = expectStatus(
    await client.request('GET', secretPath(namespace, name)),
    `reading Secret ${namespace}/${name}`,
    [200, 404],
  );
  return res.status === 404 ? undefined : decodeSecretData(res.body);
}

function required(data: Record<string, string>, secret: string, key: string): string {
  const v = data[key];
  if (v === undefined || v.trim() === '') {
    throw new KubeCaError('KUBE_CA_SECRET_INVALID', `Secret ${secret}: key ${key} is missing or empty`);
  }
  return v;
}

/** Validates PEM from a Secret, naming the Secret in messages instead of a directory. */
function fromSecret(secret: string, build: () => CaMaterial): CaMaterial {
  try {
    return build();
  } catch (err) {
    if (err instanceof CaError) {
      throw new KubeCaError('KUBE_CA_SECRET_INVALID', `Secret ${secret}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * The CA material from Kubernetes: `cacerts` when it exists, else
 * `istio-ca-secret`, created when missing. Creation is race-safe across
 * replicas: each creates its own root and posts it; whoever gets 409
 * Conflict discards its own and reads the winner's, so all agree on one root.
 */
export async function loadOrCreateKubeCaMaterial(options: KubeCaMaterialOptions): Promise<CaMaterial> {
  const { client, namespace, trustDomain } = options;
  const log = options.logger.child({ component: 'ca' });

  const plugged = await readSecret(client, namespace, PLUGGED_IN_CA_SECRET);
  if (plugged !== undefined) {
    const where = `${namespace}/${PLUGGED_IN_CA_SECRET}`;
    const certChainPem = plugged[CERT_CHAIN_FILE];
    const material = fromSecret(where, () =>
      caMaterialFromPem({
        trustDomain,
        source: 'plugged-in',
        caCertPem: required(plugged, where, CA_CERT_FILE),
        caKeyPem: required(plugged, where, CA_KEY_FILE),
        rootCertPem: required(plugged, where, ROOT_CERT_FILE),
        ...(certChainPem === undefined || certChainPem.trim() === '' ? {} : { certChainPem }),
      }),
    );
    log.info(
      { secret: where, intermediates: material.intermediatePems.length, roots: material.rootPems.length },
      'ca loaded from secret',
    );
    return material;
  }

  const where = `${namespace}/${SELF_SIGNED_CA_SECRET}`;
  const selfSigned = (data: Record<string, string>, source: CaMaterial['source']): CaMaterial =>
    fromSecret(where, () =>
      caMaterialFromPem({
        trustDomain,
        source,
        caCertPem: required(data, where, CA_CERT_FILE),
        caKeyPem: required(data, where, CA_KEY_FILE),
      }),
    );

  const existing = await readSecret(client, namespace, SELF_SIGNED_CA_SECRET);
  if (existing !== undefined) {
    const material = selfSigned(existing, 'self-signed');
    log.info({ secret: where, rootNotAfter: material.rootNotAfter.toISOString() }, 'ca loaded from secret');
    return material;
  }

  const keyType = options.keyType ?? DEFAULT_CA_KEY_TYPE;
  const root = generateAuthority({
    trustDomain,
    ttlSeconds: options.rootTtlSeconds ?? DEFAULT_ROOT_TTL_SECONDS,
    keyType,
  });
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const created = await client.request('POST', secretPath(namespace), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SELF_SIGNED_CA_SECRET, namespace },
    type: CA_SECRET_TYPE,
    data: { [CA_CERT_FILE]: b64(root.certPem), [CA_KEY_FILE]: b64(root.keyPem) },
  });
  if (created.status === 409) {
    const winner = await readSecret(client, namespace, SELF_SIGNED_CA_SECRET);
    if (winner === undefined) {
      throw new KubeCaError(
        'KUBE_API_FAILED',
        `Secret ${where}: creation conflicted, but the Secret cannot be read back; retry the start`,
      );
    }
    const material = selfSigned(winner, 'self-signed');
    log.info({ secret: where }, 'ca root created concurrently by another istiod; using it');
    return material;
  }
  expectStatus(created, `creating Secret ${where}`, [200, 201]);
  const material = selfSigned({ [CA_CERT_FILE]: root.certPem, [CA_KEY_FILE]: root.keyPem }, 'created');
  log.info({ secret: where, keyType, rootNotAfter: material.rootNotAfter.toISOString() }, 'ca root created');
  return material;
}
