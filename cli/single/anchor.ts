/**
 * `keyshare anchor` on its own, run when loaded (as cli/main.ts is): scripts/bundle.mjs bundles
 * this into one CommonJS file, which bin/keyshare.js loads for a command line naming anchor
 * (start-up, issue 25: Node's ES module loader costs more per module than the code it loads;
 * see docs/BENCHMARKS.md).
 */
import { anchorCommand } from '../commands/anchor.js';
import { programOf, runProgram } from '../run.js';
import { exitWith } from '../exit.js';

runProgram(process.argv, async () => programOf([anchorCommand()])).then(exitWith);
