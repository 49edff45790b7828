/**
 * istiod's security pieces on Kubernetes, started together: the CA root
 * from Secrets, TokenReview authentication of node agents, the root
 * ConfigMap in every namespace, and the validating admission webhook
 * (served with a certificate from the same CA).
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../../shared/logging.js';
import type { ConfigEvent } from '../../config/types.js';
import { WebhookServer } from '../../webhook/index.js';
import type { CaMaterial } from '../material.js';
import { CertificateSigner } from '../signer.js';
import { RootCertPublisher } from './root-configmap.js';
import { loadOrCreateKubeCaMaterial } from './root-secret.js';
import { KubeConfigRestClient, type KubeCredentials, type KubeRestClient } from './rest-client.js';
import { KubeCaError } from './errors.js';
import {
  DEFAULT_TRUSTED_NODE_ACCOUNTS,
  parseTrustedAccounts,
  TokenReviewAuthenticator,
  type ServiceAccountRef,
} from './token-review.js';

/** istiod's namespace when POD_NAMESPACE does not say. */
export const DEFAULT_ISTIOD_NAMESPACE = 'istio-system';
/** The variables istiod reads on Kubernetes (Istio's names). */
export const POD_NAMESPACE_ENV = 'POD_NAMESPACE';
export const TRUSTED_NODE_ACCOUNTS_ENV = 'CA_TRUSTED_NODE_ACCOUNTS';

/** The Kubernetes security settings taken from the environment at start-up. */
export interface KubernetesSecurityEnv {
  readonly namespace: string;
  readonly trustedNodeAccounts: readonly ServiceAccountRef[];
}

/**
 * Reads POD_NAMESPACE (default istio-system) and CA_TRUSTED_NODE_ACCOUNTS
 * (comma-separated `ns/sa`, default istio-system/ztunnel); a bad value fails
 * naming the variable.
 */
export function kubernetesSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): KubernetesSecurityEnv {
  const namespace = env[POD_NAMESPACE_ENV] || DEFAULT_ISTIOD_NAMESPACE;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new KubeCaError(
      'KUBE_CA_CONFIG_INVALID',
      `${POD_NAMESPACE_ENV}="${namespace}": not a namespace name`,
    );
  }
  const raw = env[TRUSTED_NODE_ACCOUNTS_ENV];
  let trustedNodeAccounts: ServiceAccountRef[];
  try {
    trustedNodeAccounts = parseTrustedAccounts(raw ?? DEFAULT_TRUSTED_NODE_ACCOUNTS.join(','));
  } catch (err) {
    throw new KubeCaError(
      'KUBE_CA_CONFIG_INVALID',
      `${TRUSTED_NODE_ACCOUNTS_ENV}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return { namespace, trustedNodeAccounts };
}

export interface KubernetesSecurityOptions {
  /** Where the API server is and who istiod is (a client-node KubeConfig fits); or `client` for a prepared transport. */
  readonly kubeConfig?: KubeCredentials;
  readonly client?: KubeRestClient;
  /** istiod's namespace: the CA Secrets live there, and the webhook's DNS name is istiod.<ns>.svc. */
  readonly namespace: string;
  readonly trustDomain: string;
  readonly trustedNodeAccounts?: readonly ServiceAccountRef[];
  readonly tokenAudiences?: readonly string[];
  /** The webhook listener; absent = no webhook. */
  readonly webhook?: { readonly host: string; readonly port: number };
  readonly rootConfigMapResyncMs?: number;
  readonly reviewCacheTtlMs?: number;
  /**
   * The ConfigStore the Kubernetes source fills: a Namespace it adds gets its
   * root ConfigMap at once instead of on the next periodic pass.
   */
  readonly namespaceEvents?: {
    subscribe(listener: (events: readonly ConfigEvent[]) => void): () => void;
  };
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface KubernetesSecurity {
  /** The CA material to sign with (from `cacerts` or `istio-ca-secret`). */
  readonly material: CaMaterial;
  readonly authenticator: TokenReviewAuthenticator;
  readonly publisher: RootCertPublisher;
  /** The webhook's bound port, when it runs. */
  readonly webhookPort: number | undefined;
  readonly webhook: WebhookServer | undefined;
  /** Stops the publisher and the webhook. */
  close(): Promise<void>;
}

/** The DNS names of the webhook's serving certificate (the API server calls istiod.<ns>.svc). */
export function webhookServingNames(namespace: string): string[] {
  return [`istiod.${namespace}.svc`, `istiod.${namespace}.svc.cluster.local`, 'localhost', '127.0.0.1'];
}

/**
 * Loads or creates the root, publishes it, and starts the webhook. Fails
 * (undoing what it started) when the API server cannot be used at start-up.
 */
export async function startKubernetesSecurity(
  options: KubernetesSecurityOptions,
): Promise<KubernetesSecurity> {
  const client =
    options.client ??
    (options.kubeConfig !== undefined ? new KubeConfigRestClient(options.kubeConfig) : undefined);
  if (client === undefined) throw new TypeError('startKubernetesSecurity: kubeConfig or client is required');
  const { logger, namespace } = options;

  const material = await loadOrCreateKubeCaMaterial({
    client,
    namespace,
    trustDomain: options.trustDomain,
    logger,
  });
  const authenticator = new TokenReviewAuthenticator({
    client,
    logger,
    ...(options.tokenAudiences === undefined ? {} : { audiences: options.tokenAudiences }),
    ...(options.trustedNodeAccounts === undefined
      ? {}
      : { trustedNodeAccounts: options.trustedNodeAccounts }),
    ...(options.reviewCacheTtlMs === undefined ? {} : { cacheTtlMs: options.reviewCacheTtlMs }),
  });
  const publisher = new RootCertPublisher({
    client,
    rootPem: material.rootPems.join(''),
    logger,
    ...(options.rootConfigMapResyncMs === undefined
      ? {}
      : { resyncIntervalMs: options.rootConfigMapResyncMs }),
  });
  await publisher.start();
  const unsubscribe = options.namespaceEvents?.subscribe((events) => {
    for (const ev of events) {
      if (ev.kind === 'add' && ev.object.kind === 'Namespace') publisher.enqueue(ev.object.metadata.name);
    }
  });

  let webhook: WebhookServer | undefined;
  let webhookPort: number | undefined;
  if (options.webhook !== undefined) {
    const serving = new CertificateSigner(material).issueServingCertificate(webhookServingNames(namespace));
    webhook = new WebhookServer({
      host: options.webhook.host,
      port: options.webhook.port,
      certChainPem: serving.chainPem,
      keyPem: serving.keyPem,
      registry: options.registry,
      logger,
    });
    try {
      webhookPort = await webhook.listen();
    } catch (err) {
      unsubscribe?.();
      await publisher.stop();
      throw err;
    }
  }
  return {
    material,
    authenticator,
    publisher,
    webhook,
    webhookPort,
    close: async () => {
      unsubscribe?.();
      await publisher.stop();
      await webhook?.close();
    },
  };
}
