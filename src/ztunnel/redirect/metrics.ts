/**
 * The capture programs' decisions as a Prometheus counter, read from the
 * per-CPU `counters` map at scrape time (the kernel does the counting).
 */
import { Counter, type Registry } from 'prom-client';
import type { CounterName, RedirectCounters } from './types.js';

export const REDIRECT_DECISIONS_METRIC = 'ambit_redirect_decisions_total';

export type RedirectHook = 'connect' | 'sockops' | 'sk_lookup';
export type RedirectOutcome = 'redirected' | 'passed' | 'rejected' | 'dropped' | 'recorded' | 'missed';

/** Each kernel counter as fixed label values. */
export const COUNTER_LABELS: Readonly<Record<CounterName, { hook: RedirectHook; outcome: RedirectOutcome; reason: string }>> = {
  connectRedirected: { hook: 'connect', outcome: 'redirected', reason: 'captured' },
  connectPassNotEnrolled: { hook: 'connect', outcome: 'passed', reason: 'not_enrolled' },
  connectPassLoopback: { hook: 'connect', outcome: 'passed', reason: 'loopback' },
  connectPassExcludedPort: { hook: 'connect', outcome: 'passed', reason: 'excluded_port' },
  connectPassExcludedCidr: { hook: 'connect', outcome: 'passed', reason: 'excluded_cidr' },
  connectPassNotTcp: { hook: 'connect', outcome: 'passed', reason: 'not_tcp' },
  connectRecordFailed: { hook: 'connect', outcome: 'rejected', reason: 'record_failed' },
  sockopsRecorded: { hook: 'sockops', outcome: 'recorded', reason: 'established' },
  sockopsMissed: { hook: 'sockops', outcome: 'missed', reason: 'no_record' },
  lookupAssigned: { hook: 'sk_lookup', outcome: 'redirected', reason: 'captured' },
  lookupPassLoopback: { hook: 'sk_lookup', outcome: 'passed', reason: 'loopback' },
  lookupPassHbone: { hook: 'sk_lookup', outcome: 'passed', reason: 'hbone' },
  lookupPassExcludedPort: { hook: 'sk_lookup', outcome: 'passed', reason: 'excluded_port' },
  lookupPassUnknownAddress: { hook: 'sk_lookup', outcome: 'passed', reason: 'unknown_address' },
  lookupDropNoListener: { hook: 'sk_lookup', outcome: 'dropped', reason: 'no_listener' },
  lookupDropAssignFailed: { hook: 'sk_lookup', outcome: 'dropped', reason: 'assign_failed' },
};

/**
 * Registers `ambit_redirect_decisions_total{hook,outcome,reason}` on the
 * registry; `read` is called on every scrape (e.g. `() => redirect.counters()`).
 */
export function registerRedirectMetrics(registry: Registry, read: () => RedirectCounters): Counter<'hook' | 'outcome' | 'reason'> {
  return new Counter({
    name: REDIRECT_DECISIONS_METRIC,
    help: 'Capture decisions taken by the eBPF programs, by hook, outcome and reason (summed over CPUs).',
    labelNames: ['hook', 'outcome', 'reason'] as const,
    registers: [registry],
    collect() {
      const counters = read();
      this.reset();
      for (const [name, labels] of Object.entries(COUNTER_LABELS)) {
        this.inc(labels, counters[name as CounterName]);
      }
    },
  });
}
