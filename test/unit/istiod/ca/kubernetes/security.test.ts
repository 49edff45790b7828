import assert from 'node:assert/strict';
import {
  KubeCaError,
  kubernetesSecurityFromEnv,
  webhookServingNames,
} from '../../../../../src/istiod/ca/kubernetes/index.js';

describe('istiod/ca/kubernetes/security', () => {
  it('defaults to istio-system and the istio-system/ztunnel node account', () => {
    assert.deepEqual(kubernetesSecurityFromEnv({}), {
      namespace: 'istio-system',
      trustedNodeAccounts: [{ namespace: 'istio-system', name: 'ztunnel' }],
    });
  });

  it('reads POD_NAMESPACE and CA_TRUSTED_NODE_ACCOUNTS', () => {
    assert.deepEqual(
      kubernetesSecurityFromEnv({
        POD_NAMESPACE: 'mesh',
        CA_TRUSTED_NODE_ACCOUNTS: 'mesh/ztunnel,kube-system/ztunnel',
      }),
      {
        namespace: 'mesh',
        trustedNodeAccounts: [
          { namespace: 'mesh', name: 'ztunnel' },
          { namespace: 'kube-system', name: 'ztunnel' },
        ],
      },
    );
  });

  const bad: { env: Record<string, string>; mentions: string }[] = [
    { env: { POD_NAMESPACE: 'Not_A_Namespace' }, mentions: 'POD_NAMESPACE="Not_A_Namespace"' },
    {
      env: { CA_TRUSTED_NODE_ACCOUNTS: 'ztunnel' },
      mentions: 'CA_TRUSTED_NODE_ACCOUNTS: trusted node account "ztunnel"',
    },
  ];
  for (const c of bad) {
    it(`refuses ${JSON.stringify(c.env)} naming the variable`, () => {
      assert.throws(
        () => kubernetesSecurityFromEnv(c.env),
        (e: unknown) =>
          e instanceof KubeCaError && e.code === 'KUBE_CA_CONFIG_INVALID' && e.message.includes(c.mentions),
      );
    });
  }

  it('names the webhook certificate after the istiod Service in its namespace', () => {
    assert.deepEqual(webhookServingNames('istio-system').slice(0, 2), [
      'istiod.istio-system.svc',
      'istiod.istio-system.svc.cluster.local',
    ]);
  });
});
