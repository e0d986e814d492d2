/** The CLI's program, built in-process (cli/main.ts runs the CLI when loaded: it is given `--version`). */
import type { Command } from 'commander';

export async function loadProgram(): Promise<Command> {
  const argv = process.argv;
  process.argv = [argv[0]!, 'keyshare', '--version'];
  try {
    return await (await import('../../cli/main.js')).buildProgram();
  } finally {
    process.argv = argv;
  }
}
