/**
 * istiod configuration for tests: everything on loopback with kernel-chosen
 * ports, short debounces, Istio's defaults elsewhere; a test names only what
 * it cares about (config dir or Kubernetes, CA dir, tokens...).
 */
import { validateIstiodConfig, type IstiodConfig } from '../../src/istiod/config.js';

export function testIstiodConfig(overrides: Partial<IstiodConfig> & Pick<IstiodConfig, 'caDir'>): IstiodConfig {
  return validateIstiodConfig({
    trustDomain: 'cluster.local',
    tokensFile: undefined,
    rootNamespace: 'istio-system',
    clusterId: 'Kubernetes',
    domainSuffix: 'cluster.local',
    grpcAddr: { host: '127.0.0.1', port: 0 },
    secureGrpcAddr: { host: '127.0.0.1', port: 0 },
    monitoringAddr: { host: '127.0.0.1', port: 0 },
    workloadCertTtlSeconds: 86400,
    maxWorkloadCertTtlSeconds: 90 * 86400,
    pushDebounceMs: 10,
    configDebounceMs: 20,
    ...overrides,
  });
}
