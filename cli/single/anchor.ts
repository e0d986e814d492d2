/**
 * `keyshare anchor` on its own, run when loaded (as cli/main.ts is): scripts/bundle.mjs bundles
 * this into one CommonJS file, which bin/keyshare.js loads for a command line naming anchor
 * (start-up, issue 25: Node's ES module loader costs more per module than the code it loads;
 * see docs/BENCHMARKS.md).
 *
 * `anchor add` in the plainest shape (cli/args.ts) runs without commander, which is imported
 * only for any other command line (its help, its errors, every other subcommand).
 */
import { plainArgs } from '../args.js';
import { ADMIN_OPTIONS } from '../commands/admin-options.js';
import { addAnchor, ANCHOR_ADD_OPTIONS } from '../commands/anchor-add.js';
import { exitWith } from '../exit.js';
import { runAction } from '../outcome.js';

const plain = process.argv[3] === 'add' ? plainArgs(process.argv.slice(4), 1, [...ANCHOR_ADD_OPTIONS, ...ADMIN_OPTIONS]) : null;
const outcome = plain
  ? runAction(() => addAnchor(plain.positionals[0]!, plain.options))
  : Promise.all([import('../run.js'), import('../commands/anchor.js')]).then(([{ programOf, runProgram }, { anchorCommand }]) => runProgram(process.argv, async () => programOf([anchorCommand()])));
outcome.then(exitWith);
