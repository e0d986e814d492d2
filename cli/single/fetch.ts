/**
 * `keyshare fetch` on its own, run when loaded (as cli/main.ts is): scripts/bundle.mjs bundles
 * this into one CommonJS file, which bin/keyshare.js loads for a command line naming fetch
 * (start-up, issue 25: Node's ES module loader costs more per module than the code it loads;
 * see docs/BENCHMARKS.md).
 *
 * A command line in the plainest shape (cli/args.ts) runs without commander, which is imported
 * only for any other (its help, its errors).
 */
import { plainArgs } from '../args.js';
import { FETCH_OPTIONS, runFetch, type FetchOptions } from '../commands/fetch.js';
import { exitWith } from '../exit.js';
import { runAction } from '../outcome.js';

const plain = plainArgs(process.argv.slice(3), 0, FETCH_OPTIONS);
const outcome = plain
  ? runAction(() => runFetch(plain.options as unknown as FetchOptions)) // --root, --out and --format are there: plainArgs checked the mandatory ones
  : Promise.all([import('../run.js'), import('../commands/fetch-command.js')]).then(([{ programOf, runProgram }, { fetchCommand }]) => runProgram(process.argv, async () => programOf([fetchCommand()])));
outcome.then(exitWith);
