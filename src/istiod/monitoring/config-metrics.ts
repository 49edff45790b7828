import { Gauge, type Registry } from 'prom-client';
import type { ConfigProblem } from '../config/sources/directory.js';

/**
 * Config health as gauges: how many objects are in force and how many
 * documents are currently rejected (their last good version, if any, stays).
 * Istio has no metric for a file source, so these carry ambit's own names.
 */
export class ConfigMetrics {
  private readonly objects: Gauge;
  private readonly invalid: Gauge;

  constructor(registry: Registry) {
    this.objects = new Gauge({
      name: 'ambit_config_objects',
      help: 'Configuration objects in force in the config store.',
      registers: [registry],
    });
    this.invalid = new Gauge({
      name: 'ambit_config_invalid_documents',
      help: 'Configuration documents currently rejected by parsing or validation.',
      labelNames: ['kind'],
      registers: [registry],
    });
  }

  record(problems: readonly ConfigProblem[], objects: number): void {
    this.objects.set(objects);
    this.invalid.reset();
    for (const p of problems) this.invalid.inc({ kind: p.kind ?? 'unknown' });
  }
}
