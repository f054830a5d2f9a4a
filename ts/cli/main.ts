/**
 * The `relu-repair` command line. Exit codes: 0 done (repaired / certified), 1 could not repair or
 * not certified (report written, no network), 2 bad input or usage (nothing written, checked
 * before any work), 130 interrupted by Ctrl-C (nothing written). Human text goes to stderr (a
 * progress bar on a terminal, progress lines elsewhere); `demo`, `eval` and `compare` print their
 * results on stdout.
 */
import { Command, CommanderError } from 'commander';
import { InputError, ReluRepairError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerCertify } from './certify.js';
import { registerCompare } from './compare.js';
import { registerDemo } from './demo.js';
import { registerEval, registerExportModel } from './eval.js';
import { type CommandRunner, EXIT_INTERRUPTED, Interrupt } from './interrupt.js';
import { EXIT_NOT_REPAIRED, EXIT_REPAIRED, registerRepair } from './repair.js';
import { registerRunInstances } from './run-instances.js';
import { registerVerify } from './verify.js';

const EXIT_BAD_INPUT = 2;

export async function main(argv: string[]): Promise<number> {
  let code = EXIT_REPAIRED;
  const interrupt = new Interrupt();
  const run: CommandRunner = async (work) => {
    code = await work(interrupt);
  };
  const program = new Command()
    .name('relu-repair')
    .description('Provable repair of ReLU neural networks (REASSURE): minimal, local patches per faulty linear region.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 not repaired / not certified, 2 bad input or usage, 130 interrupted (Ctrl-C).\nStart with `relu-repair demo`; `relu-repair <command> --help` for a command.',
    );
  registerRepair(program, run);
  registerCertify(program, run);
  registerDemo(program, run);
  registerCompare(program, run);
  registerEval(program, run);
  registerExportModel(program, run);
  registerVerify(program, (c) => {
    code = c;
  });
  registerRunInstances(program, (c) => {
    code = c;
  });
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    process.stderr.write('\nrelu-repair: no command given\n');
    return EXIT_BAD_INPUT;
  }
  interrupt.install();
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (interrupt.interrupted) return EXIT_INTERRUPTED;
    return code;
  } catch (e) {
    if (interrupt.interrupted) return EXIT_INTERRUPTED;
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof InputError) {
      process.stderr.write(`relu-repair: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (e instanceof ReluRepairError) {
      process.stderr.write(`relu-repair: ${e.message}\n`);
      return EXIT_NOT_REPAIRED;
    }
    throw e;
  } finally {
    interrupt.uninstall();
  }
}
