/**
 * The keyshare CLI's entry (bin/keyshare.js runs its bundle). Exit 0 on success; 1 with
 * `keyshare: CODE: message` on failure; 2 on a usage error (CONTRACT.md "CLI"). Only cli/
 * calls process.exit.
 *
 * Start-up (issues 15 and 25, bench B5): `--version` and the top-level `--help` are answered
 * here, without loading commander or any command (the help text is rendered at build time by
 * scripts/bundle.mjs, next to the bundle); every other command line loads cli/program.ts,
 * which loads the one command it names. (bin/keyshare.js runs `fetch` and `anchor` from their
 * own CommonJS bundles, cli/single/, without this entry.)
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VERSION } from './version.js';
import { exitWith } from './exit.js';
import { writeStdout } from './output.js';

/** `keyshare --help` as commander renders it at 80 columns (written by scripts/bundle.mjs). */
const STATIC_HELP_FILE = 'keyshare-help.txt';

/** What a command line that needs no program prints, or null. */
function fastAnswer(args: string[]): string | null {
  if (args.length !== 1) return null;
  if (args[0] === '--version' || args[0] === '-V') return `${VERSION}\n`;
  // commander wraps help to a terminal's width, else to 80 columns: the text was rendered so.
  const width = process.stdout.isTTY ? process.stdout.columns : 80;
  if ((args[0] === '--help' || args[0] === '-h') && width === 80) {
    try {
      return readFileSync(new URL(`./${STATIC_HELP_FILE}`, import.meta.url), 'utf8');
    } catch {
      return null; // not built (tsc's dist/, or the sources): commander renders it
    }
  }
  return null;
}

/** The program (every command, or only `command`), as cli/program.ts builds it. */
export async function buildProgram(command?: string): Promise<Command> {
  return (await import('./program.js')).buildProgram(command);
}

export async function main(argv: string[]): Promise<number> {
  const answer = fastAnswer(argv.slice(2));
  if (answer !== null) {
    writeStdout(answer);
    return 0;
  }
  return (await import('./program.js')).main(argv);
}

main(process.argv).then(exitWith);
