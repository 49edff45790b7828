/**
 * When a workload pod is ready: every container process runs, and every
 * TCP containerPort has a listening socket in the pod's network namespace
 * (read from `/proc/<pid>/net/tcp*`, which shows the namespace of that
 * process — no connection is made, so capture never sees a probe).
 */
import { readFileSync } from 'node:fs';
import { isAlive, type PodRecord } from '../state.js';

/** TCP state LISTEN in /proc/net/tcp. */
const TCP_LISTEN = '0A';

/** Local ports in LISTEN state in the network namespace of `pid`. */
export function listeningPorts(pid: number): Set<number> {
  const ports = new Set<number>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== TCP_LISTEN) continue;
      const port = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return ports;
}

/** What keeps a pod from being ready, empty when it is. */
export function podNotReady(pod: PodRecord): string[] {
  const problems: string[] = [];
  for (const c of pod.containers ?? []) {
    if (!isAlive(c.pid)) {
      problems.push(`container ${c.name} is not running (see ${c.log})`);
      continue;
    }
    if (c.ports.length === 0) continue;
    const listening = listeningPorts(c.pid);
    const missing = c.ports.filter((p) => !listening.has(p));
    if (missing.length > 0) problems.push(`container ${c.name}: nothing listens on ${missing.join(', ')} yet`);
  }
  return problems;
}

/**
 * Waits (bounded, polling /proc) until every pod is ready; returns what is
 * still missing per pod. A pod whose container exited is not waited for:
 * nothing restarts it before `mesh up` does.
 */
export async function waitPodsReady(pods: readonly PodRecord[], timeoutMs: number, pollMs = 25): Promise<Map<string, string[]>> {
  const deadline = Date.now() + timeoutMs;
  const key = (p: PodRecord): string => `${p.namespace}/${p.name}`;
  const failed = new Map<string, string[]>();
  let waiting = [...pods];
  for (;;) {
    const pending = new Map<string, string[]>();
    for (const p of waiting) {
      const problems = podNotReady(p);
      if (problems.length === 0) continue;
      if ((p.containers ?? []).some((c) => !isAlive(c.pid))) failed.set(key(p), problems);
      else pending.set(key(p), problems);
    }
    waiting = waiting.filter((p) => pending.has(key(p)));
    if (pending.size === 0 || Date.now() >= deadline) return new Map([...failed, ...pending]);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
