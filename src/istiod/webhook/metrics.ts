/**
 * The validation webhook's metrics, with Istio's names
 * (pkg/webhooks/validation/server/monitoring.go), so existing dashboards apply.
 */
import { Counter, type Registry } from 'prom-client';
import type { GroupVersionResource, ValidationFailureReason } from './admission.js';

export class WebhookMetrics {
  readonly passed: Counter<'group' | 'version' | 'resource'>;
  readonly failed: Counter<'group' | 'version' | 'resource' | 'reason'>;
  readonly httpErrors: Counter<'status'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.passed = new Counter({
      name: 'galley_validation_passed',
      help: 'Resource is valid',
      labelNames: ['group', 'version', 'resource'],
      registers,
    });
    this.failed = new Counter({
      name: 'galley_validation_failed',
      help: 'Resource validation failed',
      labelNames: ['group', 'version', 'resource', 'reason'],
      registers,
    });
    this.httpErrors = new Counter({
      name: 'galley_validation_http_error',
      help: 'Resource validation http serve errors',
      labelNames: ['status'],
      registers,
    });
  }

  recordPassed(r: GroupVersionResource): void {
    this.passed.inc({ group: r.group, version: r.version, resource: r.resource });
  }

  recordFailed(r: GroupVersionResource, reason: ValidationFailureReason): void {
    this.failed.inc({ group: r.group, version: r.version, resource: r.resource, reason });
  }

  recordHttpError(status: number): void {
    this.httpErrors.inc({ status: String(status) });
  }
}
