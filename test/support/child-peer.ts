/**
 * Starting `hbone-peer.ts` in a child process, and stopping it in every
 * outcome: SIGCONT then SIGKILL, so a child a test SIGSTOPped never
 * outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { HbonePeerConfig } from './hbone-peer.js';

const PEER_SCRIPT = fileURLToPath(new URL('./hbone-peer.ts', import.meta.url));

export interface ChildPeer {
  readonly child: ChildProcess;
  /** The JSON line the peer printed when ready. */
  readonly ready: Record<string, unknown>;
  /** SIGCONT + SIGKILL, then waits for the exit (idempotent). */
  stop(): Promise<void>;
}

export async function startChildPeer(config: HbonePeerConfig, timeoutMs = 20_000): Promise<ChildPeer> {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER_SCRIPT], {
    env: { ...process.env, AMBIT_HBONE_PEER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`hbone peer not ready in ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        const nl = buffered.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        resolve(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`hbone peer exited before ready (code ${code}, signal ${signal})`));
      });
    });
    return { child, ready, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
