/**
 * The keyshare program around a set of commands, and how a command line's outcome becomes an exit
 * code: 0 on success; 2 on a usage error commander finds; else as cli/outcome.ts says (CONTRACT.md
 * "CLI"). Shared by cli/program.ts (any command) and cli/single/ (one command each, bundled on
 * their own for start-up: issue 25).
 */
import { Command, CommanderError } from 'commander';
import { addMissingExamples } from './help.js';
import { failureCode } from './outcome.js';
import { VERSION } from './version.js';
import { writeStdout } from './output.js';

/** The program holding `commands`, with every command's --help ending in examples. */
export function programOf(commands: Command[]): Command {
  const program = new Command('keyshare')
    .description('keyshare: trust distribution for signed container images, published as a TUF repository')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');
  for (const cmd of commands) program.addCommand(cmd);
  // Every command's --help ends with examples (cli/help.ts fills in any a command lacks).
  addMissingExamples(program);
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    // Help and --version go through the CLI's one stdout writer (a closed pipe ends output quietly).
    cmd.configureOutput({ writeOut: writeStdout });
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs the command line `argv` (node, script, then the command) on the program `build` gives. */
export async function runProgram(argv: string[], build: () => Promise<Command>): Promise<number> {
  try {
    await (await build()).parseAsync(argv);
    return 0;
  } catch (caught) {
    // --help and --version exit 0; anything else commander refuses is a usage error.
    if (caught instanceof CommanderError) return caught.exitCode === 0 ? 0 : 2;
    return failureCode(caught);
  }
}
