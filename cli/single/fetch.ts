/**
 * `keyshare fetch` on its own: scripts/bundle.mjs bundles this into one CommonJS file, which
 * bin/keyshare.js requires for a command line naming fetch (start-up, issue 25: Node's ES module
 * loader costs more per module than the code it loads; see docs/BENCHMARKS.md).
 */
import { fetchCommand } from '../commands/fetch.js';
import { programOf, runProgram } from '../run.js';

export const main = (argv: string[]): Promise<number> => runProgram(argv, async () => programOf([fetchCommand()]));
