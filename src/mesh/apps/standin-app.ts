/**
 * The process a pod's container runs when its image has a stand-in:
 *
 *   node dist/mesh/apps/standin-app.js '<json of StandinSpec>'
 *
 * It starts the stand-in, writes one JSON line per request (or, for
 * tcp-echo, per connection) to stdout, and on SIGTERM/SIGINT closes its
 * listeners and exits 0. A bad argument, an unknown image or a port it
 * cannot bind exits 1 with the reason on stderr (EADDRINUSE names the port).
 */
import { pino } from 'pino';
import { AmbitError, errorMessage } from '../../shared/errors.js';
import { parseStandinSpec, startStandin, type RunningStandin } from '../standins/serve.js';

const USAGE = "usage: standin-app '<json of StandinSpec>'";

const log = pino({ name: 'standin', base: { pid: process.pid } }, pino.destination({ fd: 1, sync: true }));

function die(message: string): never {
  process.stderr.write(`standin-app: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.length !== 1) die(`want exactly one argument, got ${argv.length}\n${USAGE}`);
  let running: RunningStandin;
  try {
    const spec = parseStandinSpec(argv[0]!);
    const component = log.child({ component: 'standin', image: spec.image });
    running = await startStandin(spec, {
      request: (r) => component.info(r, 'request'),
      connection: (c) => component.info(c, 'connection'),
      handlerError: (err, where) => component.error({ err: errorMessage(err), where }, 'handler failed'),
    });
    component.info({ ports: running.ports }, 'listening');
  } catch (err) {
    die(err instanceof AmbitError ? `${err.code}: ${err.message}` : errorMessage(err));
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => die(`close failed: ${errorMessage(err)}`),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => die(errorMessage(err)));
