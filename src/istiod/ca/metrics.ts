/**
 * The CA's Prometheus metrics, with Istio's names
 * (istio/istio security/pkg/server/ca/monitoring.go and the CA expiry gauges),
 * so existing dashboards and alerts keep working.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CaMaterial } from './material.js';

/** Values of the `error_type` label of citadel_server_csr_sign_err_count (Istio's CA error kinds). */
export type SignErrorType = 'CSRError' | 'TTLError' | 'CertGenError' | 'CAIllegalConfig' | 'CANotReady';

export class CaMetrics {
  readonly csrCount: Counter;
  readonly authenticationFailures: Counter;
  readonly csrParsingErrors: Counter;
  readonly idExtractionErrors: Counter;
  readonly signErrors: Counter<'error_type'>;
  readonly successes: Counter;

  constructor(registry: Registry, material: CaMaterial) {
    const registers = [registry];
    this.csrCount = new Counter({
      name: 'citadel_server_csr_count',
      help: 'The number of CSRs received by Citadel server.',
      registers,
    });
    this.authenticationFailures = new Counter({
      name: 'citadel_server_authentication_failure_count',
      help: 'The number of authentication failures.',
      registers,
    });
    this.csrParsingErrors = new Counter({
      name: 'citadel_server_csr_parsing_err_count',
      help: 'The number of errors occurred when parsing the CSR.',
      registers,
    });
    this.idExtractionErrors = new Counter({
      name: 'citadel_server_id_extraction_err_count',
      help: 'The number of errors occurred when extracting the ID from CSR.',
      registers,
    });
    this.signErrors = new Counter({
      name: 'citadel_server_csr_sign_err_count',
      help: 'The number of errors occurred when signing the CSR.',
      labelNames: ['error_type'],
      registers,
    });
    this.successes = new Counter({
      name: 'citadel_server_success_cert_issuance_count',
      help: 'The number of certificates issuances that have succeeded.',
      registers,
    });
    const rootExpiry = material.rootNotAfter.getTime() / 1000;
    const chainExpiry = material.chainNotAfter.getTime() / 1000;
    new Gauge({
      name: 'citadel_server_root_cert_expiry_timestamp',
      help: 'The unix timestamp, in seconds, when Citadel root cert will expire.',
      registers,
    }).set(rootExpiry);
    new Gauge({
      name: 'citadel_server_root_cert_expiry_seconds',
      help: 'The time remaining, in seconds, before the root cert will expire.',
      registers,
      collect() {
        this.set(rootExpiry - Date.now() / 1000);
      },
    });
    new Gauge({
      name: 'citadel_server_cert_chain_expiry_timestamp',
      help: 'The unix timestamp, in seconds, when Citadel cert chain will expire.',
      registers,
    }).set(chainExpiry);
    new Gauge({
      name: 'citadel_server_cert_chain_expiry_seconds',
      help: 'The time remaining, in seconds, before the cert chain will expire.',
      registers,
      collect() {
        this.set(chainExpiry - Date.now() / 1000);
      },
    });
  }
}
