/**
 * `ambit`: one command, several roles. Each subcommand lives in
 * src/cli/commands/<name>.ts and registers itself on the program here.
 * Exit codes: 0 success, 1 the command ran and found a failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE } from './exit-codes.js';
import { registerVersionInfo } from './commands/version.js';
import { registerIstiod } from './commands/istiod.js';
import { registerZtunnel } from './commands/ztunnel.js';
import { registerMesh } from './commands/mesh.js';
import { registerValidate } from './commands/validate.js';
import { registerCni } from './commands/cni.js';
import { registerAuthz } from './commands/authz.js';
import { registerZtunnelConfig } from './commands/ztunnel-config.js';
import { registerProxyStatus } from './commands/proxy-status.js';
import { registerBpf } from './commands/bpf.js';

export function buildProgram(): Command {
  const program = new Command('ambit')
    .description('An Istio-compatible ambient service mesh: istiod, the ztunnel node agent, and debug tools')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerVersionInfo(program);
  registerIstiod(program);
  registerZtunnel(program);
  registerMesh(program);
  registerValidate(program);
  registerCni(program);
  registerAuthz(program);
  registerZtunnelConfig(program);
  registerProxyStatus(program);
  registerBpf(program);
  return program;
}

async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through the same path as usage errors.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    throw err;
  }
}

// A reader that went away (`ambit mesh status | head`) ends the output, as for
// any Unix tool: the command stops quietly instead of dying on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`ambit: standard output: ${err.message}\n`);
  process.exit(1);
});

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`ambit: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
