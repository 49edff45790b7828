/**
 * `ambit proxy-status` (alias `ps`): every node agent an istiod serves, with
 * the sync state of each xDS type, from istiod's `/debug/syncz`.
 *
 * The istiod is `--istiod HOST:PORT`, or every istiod of the mesh state
 * (`--state-dir`), or 127.0.0.1:15014. Exit codes: 0 printed, 1 an istiod
 * could not be reached or read (what the others answered is still printed),
 * 2 usage error.
 */
import { Command, Option } from 'commander';
import { errorMessage } from '../../shared/errors.js';
import { proxyStatusTable } from '../render/proxy-status-table.js';
import { renderJson } from '../render/structured.js';
import { formatTargetAddress } from '../targets/address.js';
import { TargetError } from '../targets/errors.js';
import { DEFAULT_FETCH_TIMEOUT_MS } from '../targets/http-get.js';
import { DEFAULT_MESH_STATE_DIR } from '../targets/mesh-state.js';
import { resolveIstiods, type IstiodTarget } from '../targets/resolve.js';
import { fetchSyncz, type ProxyStatus } from '../targets/sync-status.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

interface Flags {
  istiod?: string;
  stateDir: string;
  output: 'table' | 'json';
  timeout: string;
}

export function registerProxyStatus(program: Command): void {
  program
    .command('proxy-status')
    .alias('ps')
    .description('list the node agents istiod serves and whether each xDS type is SYNCED, STALE or NOT SENT')
    .addOption(new Option('--istiod <host:port>', "istiod's monitoring listener (default 127.0.0.1:15014)"))
    .option(
      '--state-dir <dir>',
      'ask every istiod of the mesh state (nodes.json) in this directory',
      DEFAULT_MESH_STATE_DIR,
    )
    .addOption(
      new Option('-o, --output <format>', 'output format; json prints /debug/syncz as served')
        .choices(['table', 'json'])
        .default('table'),
    )
    .option('--timeout <ms>', 'how long to wait for each istiod', String(DEFAULT_FETCH_TIMEOUT_MS))
    .action(async (_opts: unknown, self: Command) => {
      const f = self.opts<Flags>();
      const usage = (message: string): never =>
        self.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'ambit.usage' });
      const timeoutMs = Number(f.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
        usage(`--timeout "${f.timeout}": not a positive number of milliseconds`);
      let targets: IstiodTarget[] = [];
      try {
        targets = resolveIstiods({
          istiod: f.istiod,
          stateDir: f.stateDir,
          stateDirExplicit: self.getOptionValueSource('stateDir') === 'cli',
        });
      } catch (err) {
        if (err instanceof TargetError && err.code === 'TARGET_BAD_ADDRESS') usage(err.message);
        throw err;
      }
      const answers = await Promise.allSettled(
        targets.map((t) => fetchSyncz(t.address, { hint: t.hint, timeoutMs })),
      );
      const failures = answers.flatMap((a) => (a.status === 'rejected' ? [errorMessage(a.reason)] : []));
      if (failures.length === targets.length)
        throw new TargetError('TARGET_UNREACHABLE', failures.join('\n'));
      const statuses: ProxyStatus[] = [];
      const raw: Record<string, unknown> = {};
      answers.forEach((a, i) => {
        if (a.status !== 'fulfilled') return;
        statuses.push(...a.value.statuses);
        raw[formatTargetAddress((targets[i] as IstiodTarget).address)] = a.value.raw;
      });
      if (f.output === 'json') {
        process.stdout.write(renderJson(targets.length === 1 ? Object.values(raw)[0] : raw));
      } else {
        process.stdout.write(proxyStatusTable(statuses));
      }
      for (const message of failures) process.stderr.write(`ambit: ${message}\n`);
      process.exitCode = failures.length > 0 ? EXIT_FAILURE : EXIT_OK;
    });
}
