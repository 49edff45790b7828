/**
 * A soak of short connections from inside a pod: `each` allowed connections
 * (an HTTP GET that must answer 200) interleaved with `each` denied ones (to
 * a target a policy denies: no byte may come back), `concurrency` at a time,
 * run by one node script so thousands of connections cost one process.
 */
import type { NetnsCluster } from '../../src/mesh/cluster/index.js';

export interface SoakOptions {
  /** `ip:port` of an HTTP server the policy allows. */
  readonly allowed: string;
  /** `ip:port` a policy denies. */
  readonly denied: string;
  readonly each: number;
  readonly concurrency: number;
  /** Per-connection bound. */
  readonly timeoutMs?: number;
}

export interface SoakResult {
  readonly allowedOk: number;
  readonly allowedFailed: number;
  readonly deniedRefused: number;
  /** Denied connections that got bytes back from the app. */
  readonly deniedLeaked: number;
  /** A few failure reasons, for the message. */
  readonly failureSample: readonly string[];
}

const SOAK_SCRIPT = `
const net = require('node:net');
const [allowed, denied, each, concurrency, timeoutMs] = process.argv.slice(1);
const split = (a) => { const i = a.lastIndexOf(':'); return { host: a.slice(0, i), port: Number(a.slice(i + 1)) }; };
const targets = { allowed: split(allowed), denied: split(denied) };
const r = { allowedOk: 0, allowedFailed: 0, deniedRefused: 0, deniedLeaked: 0, failureSample: [] };
let started = 0, finished = 0;
const total = 2 * Number(each);
function one(kind) {
  return new Promise((resolve) => {
    const s = net.connect(targets[kind]);
    const chunks = [];
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString();
      if (kind === 'allowed') {
        if (text.startsWith('HTTP/1.1 200')) r.allowedOk++;
        else { r.allowedFailed++; if (r.failureSample.length < 5) r.failureSample.push(err || ('answer ' + JSON.stringify(text.slice(0, 20)))); }
      } else if (text.length > 0) r.deniedLeaked++;
      else r.deniedRefused++;
      resolve();
    };
    const timer = setTimeout(() => finish('timeout'), Number(timeoutMs));
    s.on('connect', () => s.write(kind === 'allowed' ? 'GET / HTTP/1.1\\r\\nHost: soak\\r\\nConnection: close\\r\\n\\r\\n' : 'denied?'));
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => finish());
    s.on('error', (e) => finish(e.code || e.message));
  });
}
async function worker() {
  while (started < total) {
    const kind = started++ % 2 === 0 ? 'allowed' : 'denied';
    await one(kind);
    finished++;
  }
}
Promise.all(Array.from({ length: Number(concurrency) }, worker)).then(() => { process.stdout.write(JSON.stringify(r)); process.exit(0); });
`;

/** Runs the soak inside `pod` and returns its counts; fails if the script does not finish in time. */
export async function runSoak(cluster: NetnsCluster, pod: string, options: SoakOptions): Promise<SoakResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Every connection is bounded, so the whole run is too; capped well below the suite timeout.
  const overallMs = Math.ceil((2 * options.each * timeoutMs) / options.concurrency) + 60_000;
  const r = await cluster.execInPod(
    pod,
    [process.execPath, '-e', SOAK_SCRIPT, options.allowed, options.denied, String(options.each), String(options.concurrency), String(timeoutMs)],
    { timeoutMs: Math.min(overallMs, 180_000) },
  );
  if (r.code !== 0) throw new Error(`soak in ${pod} failed (exit ${r.code}, signal ${r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as SoakResult;
}
