import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { COUNTER_LABELS, REDIRECT_DECISIONS_METRIC, registerRedirectMetrics } from '../../../../src/ztunnel/redirect/metrics.js';
import { COUNTER_NAMES, type CounterName, type RedirectCounters } from '../../../../src/ztunnel/redirect/types.js';

function counters(values: Partial<Record<CounterName, number>>): RedirectCounters {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, values[n] ?? 0])) as RedirectCounters;
}

describe('redirect metrics', () => {
  it('every kernel counter has a distinct label set', () => {
    assert.deepEqual(Object.keys(COUNTER_LABELS).sort(), [...COUNTER_NAMES].sort());
    const keys = Object.values(COUNTER_LABELS).map((l) => `${l.hook}/${l.outcome}/${l.reason}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('a scrape reports the values read at that moment, labelled by hook, outcome and reason', async () => {
    const registry = new Registry();
    let current = counters({ connectRedirected: 3, lookupDropNoListener: 1 });
    registerRedirectMetrics(registry, () => current);
    let text = await registry.metrics();
    assert.match(text, new RegExp(`${REDIRECT_DECISIONS_METRIC}\\{hook="connect",outcome="redirected",reason="captured"\\} 3`));
    assert.match(text, /hook="sk_lookup",outcome="dropped",reason="no_listener"\} 1/);
    current = counters({ connectRedirected: 7 });
    text = await registry.metrics();
    assert.match(text, /hook="connect",outcome="redirected",reason="captured"\} 7/);
    assert.match(text, /hook="sk_lookup",outcome="dropped",reason="no_listener"\} 0/);
  });
});
