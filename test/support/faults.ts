/**
 * Faults injected into a running netns cluster: signals to a process
 * (SIGKILL, SIGSTOP/SIGCONT) announced to the process guard, a silent drop
 * on a node's underlay link (an nftables table inside the node's namespace:
 * this kernel has no netem) and the link set down. A `FaultLedger` records
 * each fault it injects and `undoAll()` heals them, so an `after` hook leaves
 * no stopped process, rule or down link behind whatever failed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processGuard } from './process-guard.js';

/** How long a signal may take to show in /proc before the fault itself is a failure. */
const SIGNAL_SETTLE_MS = 5_000;

export class FaultError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'FaultError';
    this.code = code;
  }
}

/** The state letter of /proc/PID/stat ('R', 'S', 'T' stopped, 'Z' zombie), or undefined when gone. */
export function processStateLetter(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** The command line of a running process, as it was started. */
export function processArgv(pid: number): string[] {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch (err) {
    throw new FaultError('FAULT_NO_PROCESS', `pid ${pid}: no command line (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const argv = raw.split('\0');
  if (argv.at(-1) === '') argv.pop();
  return argv;
}

async function waitForState(pid: number, what: string, ok: (state: string | undefined) => boolean): Promise<void> {
  const deadline = Date.now() + SIGNAL_SETTLE_MS;
  while (!ok(processStateLetter(pid))) {
    if (Date.now() > deadline) throw new FaultError('FAULT_SIGNAL_IGNORED', `pid ${pid}: not ${what} ${SIGNAL_SETTLE_MS} ms after the signal`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const gone = (s: string | undefined): boolean => s === undefined || s === 'Z' || s === 'X';

/** Whether `pid` runs (a stopped process does, a zombie does not). */
export function isRunning(pid: number): boolean {
  return !gone(processStateLetter(pid));
}

/** SIGKILLs `pid`, told to the guard first; resolves once the process is gone (a zombie counts). */
export async function killProcess(pid: number): Promise<void> {
  processGuard.expectExit(pid);
  process.kill(pid, 'SIGKILL');
  await waitForState(pid, 'gone', gone);
}

/** SIGTERMs `pid`, told to the guard first; SIGKILL after `graceMs`. Resolves once it is gone. */
export async function terminateProcess(pid: number, graceMs = 5_000): Promise<void> {
  processGuard.expectExit(pid);
  if (gone(processStateLetter(pid))) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (!gone(processStateLetter(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (!gone(processStateLetter(pid))) await killProcess(pid);
}

function run(argv: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.on('error', (err) => reject(new FaultError('FAULT_COMMAND_FAILED', `${argv.join(' ')}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new FaultError('FAULT_COMMAND_FAILED', `${argv.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

/** An nftables table in `netns` that silently drops everything in and out of `iface`. */
function dropRuleset(table: string, iface: string): string {
  // input/output cover the node's own sockets, forward the pods' traffic routed through the node.
  return `table inet ${table} {
  chain input { type filter hook input priority -300; policy accept; iifname "${iface}" drop; }
  chain forward { type filter hook forward priority -300; policy accept; iifname "${iface}" drop; oifname "${iface}" drop; }
  chain output { type filter hook output priority -300; policy accept; oifname "${iface}" drop; }
}
`;
}

/** One fault in force, and how to heal it. */
interface ActiveFault {
  readonly what: string;
  readonly undo: () => Promise<void>;
}

/**
 * The faults a suite injected and has not healed yet. Each injector heals
 * what it did when asked, and `undoAll` heals the rest in reverse order.
 */
export class FaultLedger {
  private readonly active = new Map<string, ActiveFault>();
  /** Table names are unique per ledger: `<tablePrefix>_<n>`. */
  private readonly tablePrefix: string;
  private tables = 0;

  /** `tablePrefix`: a name prefix unique to the suite run (letters, digits, `_`). */
  constructor(tablePrefix: string) {
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(tablePrefix)) throw new FaultError('FAULT_BAD_NAME', `nft table prefix "${tablePrefix}" is not [a-z][a-z0-9_]*`);
    this.tablePrefix = tablePrefix;
  }

  /** SIGSTOPs `pid`; the returned function (or undoAll) SIGCONTs it. */
  async pause(pid: number, label: string): Promise<() => Promise<void>> {
    const key = `stop:${pid}`;
    process.kill(pid, 'SIGSTOP');
    const undo = async (): Promise<void> => {
      if (!this.active.delete(key)) return;
      if (gone(processStateLetter(pid))) return;
      process.kill(pid, 'SIGCONT');
      await waitForState(pid, 'running', (s) => s !== 'T' && s !== 't');
    };
    this.active.set(key, { what: `SIGSTOP ${label} (pid ${pid})`, undo });
    await waitForState(pid, 'stopped', (s) => s === 'T' || s === 't' || gone(s));
    return undo;
  }

  /** Drops every packet in and out of `iface` inside `netns` (nothing is answered: a silent partition). */
  async dropLink(netns: string, iface: string): Promise<() => Promise<void>> {
    const table = `${this.tablePrefix}_${this.tables++}`;
    const key = `nft:${netns}:${table}`;
    await run(['ip', 'netns', 'exec', netns, 'nft', '-f', '-'], dropRuleset(table, iface));
    const undo = async (): Promise<void> => {
      if (!this.active.delete(key)) return;
      await run(['ip', 'netns', 'exec', netns, 'nft', 'delete', 'table', 'inet', table]);
    };
    this.active.set(key, { what: `nft drop on ${iface} in ${netns} (table ${table})`, undo });
    return undo;
  }

  /** Sets `link` in `netns` down; the returned function sets it up again. */
  async linkDown(netns: string, link: string): Promise<() => Promise<void>> {
    const key = `link:${netns}:${link}`;
    await run(['ip', '-n', netns, 'link', 'set', link, 'down']);
    const undo = async (): Promise<void> => {
      if (!this.active.delete(key)) return;
      await run(['ip', '-n', netns, 'link', 'set', link, 'up']);
    };
    this.active.set(key, { what: `link ${link} down in ${netns}`, undo });
    return undo;
  }

  /** What is still in force. */
  describe(): string[] {
    return [...this.active.values()].map((f) => f.what);
  }

  /** Heals every fault still in force, newest first; fails naming those that could not be healed. */
  async undoAll(): Promise<void> {
    const failures: string[] = [];
    for (const f of [...this.active.values()].reverse()) {
      try {
        await f.undo();
      } catch (err) {
        failures.push(`${f.what}: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) throw new FaultError('FAULT_UNDO_FAILED', `could not heal: ${failures.join('; ')}`);
  }
}
