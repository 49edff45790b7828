/**
 * The long-lived processes of a local mesh (istiod, one agent per node):
 * started detached with their output in log files, waited for over HTTP,
 * and stopped by PID.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import net from 'node:net';
import { MeshError, isAlive } from './state.js';

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a detached process with stdout and stderr appended to `logFile`. */
export function startDetached(argv: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): number {
  const fd = openSync(logFile, 'a');
  try {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new MeshError('MESH_START_FAILED', 'empty command line');
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new MeshError('MESH_START_FAILED', `cannot start ${argv.join(' ')}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Polls `url` until it answers 200, the process dies, or the deadline passes. */
export async function waitForHttpOk(url: string, pid: number, what: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new MeshError('MESH_START_FAILED', `${what} (pid ${pid}) exited during start-up; see ${logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      if (res.status === 200) return;
      last = `${res.status} ${body.trim()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new MeshError('MESH_START_FAILED', `${what} not ready after ${timeoutMs} ms (${url}: ${last}); see ${logFile}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; bounded polling until the PID is gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    const hard = Date.now() + 2000;
    while (isAlive(pid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
  }
}
