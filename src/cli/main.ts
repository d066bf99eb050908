// The `pef` command. Each command group lives in src/cli/commands/<group>.ts and registers
// itself here. Exit codes: 0 ok, 1 a check failed, 2 bad input. Errors print as one line;
// PEF_DEBUG=1 adds the stack.

import { Command, CommanderError } from 'commander';
import { CheckFailed, InputError, UsageError, errorMessage } from '../util/errors.js';
import { COMMANDS } from './commands/index.js';

export interface CliContext {
  /** Set by an action to report its exit code (0 when unset). */
  exitCode: number;
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function main(argv: string[], io: Partial<Pick<CliContext, 'out' | 'err'>> = {}): Promise<number> {
  const ctx: CliContext = {
    exitCode: 0,
    out: io.out ?? ((s) => process.stdout.write(s)),
    err: io.err ?? ((s) => process.stderr.write(s)),
  };
  const program = new Command('pef')
    .description('An executable model of the Protected Execution Facility (PEF) for POWER')
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err })
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText('after', `
Examples:
  $ pef demo                              the whole story in about a minute
  $ pef machine create m1 && pef machine boot m1
  $ pef esm generate -p owner.pem -s owner.sec
  $ pef bench machine --json`);
  for (const register of COMMANDS) register(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (process.env.PEF_DEBUG === '1' && e instanceof Error) ctx.err(`${e.stack}\n`);
    if (e instanceof InputError || e instanceof UsageError) { ctx.err(`pef: ${errorMessage(e)}\n`); return 2; }
    if (e instanceof CheckFailed) { ctx.err(`pef: ${errorMessage(e)}\n`); return 1; }
    ctx.err(`pef: ${errorMessage(e)}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /src[\\/]cli[\\/]main\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
