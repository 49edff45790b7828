/**
 * Opens many TCP connections and holds them: at most `inFlight` connects
 * pending at a time; a connection counts as open when the server's first
 * byte arrived (through a mesh, that is after the tunnel is up). Prints one
 * JSON line `{"open","failed","openMs"}` when all are open or failed, or
 * when `timeoutMs` has passed; then waits for a line on stdin (or stdin's
 * end) and resets every connection (RST, so no TIME_WAIT is left) and exits.
 *
 *   node --import tsx bench/support/tcp-hold-client.ts <host> <port> <count> [inFlight=256] [timeoutMs=60000]
 */
import net from 'node:net';

const [host = '127.0.0.1', portText = '9000', countText = '1000', inFlightText = '256', timeoutText = '60000'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const inFlight = Number(inFlightText);
const timeoutMs = Number(timeoutText);

const sockets: net.Socket[] = [];
let started = 0;
let open = 0;
let failed = 0;
let pending = 0;
let reported = false;
const t0 = process.hrtime.bigint();

function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(deadline);
  const openMs = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`${JSON.stringify({ open, failed, openMs: Math.round(openMs) })}\n`);
}

function settle(): void {
  pending--;
  if (open + failed === count) report();
  else startMore();
}

function startOne(): void {
  started++;
  pending++;
  const s = net.connect({ host, port });
  sockets.push(s);
  let done = false;
  s.once('data', () => {
    if (done) return;
    done = true;
    open++;
    settle();
  });
  s.on('error', () => {
    if (done) return;
    done = true;
    failed++;
    settle();
  });
  s.on('close', () => {
    if (done) return;
    done = true;
    failed++;
    settle();
  });
}

function startMore(): void {
  if (reported) return;
  while (started < count && pending < inFlight) startOne();
}

const deadline = setTimeout(report, timeoutMs);
startMore();

function closeAll(): void {
  for (const s of sockets) if (!s.destroyed) s.resetAndDestroy();
  setTimeout(() => process.exit(0), 200);
}
process.stdin.on('data', closeAll);
process.stdin.on('end', closeAll);
process.on('SIGTERM', closeAll);
